//go:build race

package history

// raceDetector: the race detector's shadow memory is resident outside the
// Go heap, so memory figures are only asserted without it (.ci/run runs
// those tests once more without -race).
const raceDetector = true
