//go:build race

package main

// raceDetector: the race detector slows every memory access 2-20 times, so
// wall-clock targets are only asserted without it (.ci/run runs those
// tests once more without -race).
const raceDetector = true
