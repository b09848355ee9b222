package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseSchedstat(t *testing.T) {
	d, err := parseSchedstat([]byte("1234567890 55555 42\n"))
	if err != nil || d != 1234567890*time.Nanosecond {
		t.Fatalf("parseSchedstat = %v, %v; want 1.23456789s", d, err)
	}
	for _, bad := range []string{"", "\n", "x 1 2"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseSchedstat(%q): no error", bad)
		}
	}
}

// TestSchedCPUOfThisProcess checks that the nanosecond counters read for
// this process's threads grow as it burns CPU.
func TestSchedCPUOfThisProcess(t *testing.T) {
	pids := []int{os.Getpid()}
	before := schedCPU(pids)
	deadline := time.Now().Add(5 * time.Second)
	for schedCPU(pids)-before < 10*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("5 s of spinning counted as %v of CPU", schedCPU(pids)-before)
		}
		for start := time.Now(); time.Since(start) < time.Millisecond; {
		}
	}
}

// flip builds a finished flip run of key in mode: on and off CPU per
// second of measured phases at rate calls/s.
func flip(key, mode string, round, rate int, on, off time.Duration) flipResult {
	return flipResult{Forwarder: key, Mode: mode, Round: round, Rate: rate, Phases: 20,
		OnCPU: 10 * on, OffCPU: 10 * off, OnWall: 10 * time.Second, OffWall: 10 * time.Second,
		Stats: sippStats{Successful: rate * 24}}
}

func TestFlipReport(t *testing.T) {
	b := &bench{opts: options{Forwarders: []string{"a", "b-tcp"}, FlipPhases: 20}, idle: map[string]idleResult{}}
	b.flips = []flipResult{
		flip("b-tcp", "t1", 1, 4000, 132*time.Millisecond, 120*time.Millisecond), // 33 / 30 µs: 1.10×
		flip("b-tcp", "t1", 2, 4000, 138*time.Millisecond, 120*time.Millisecond), // 1.15×
		flip("b-tcp", "t1", 3, 4000, 126*time.Millisecond, 120*time.Millisecond), // 1.05×
		flip("b-tcp", "tn", 1, 2000, 220*time.Millisecond, 200*time.Millisecond), // failed calls: not counted
	}
	b.flips[3].Stats.Failed = 3
	if got := b.flips[0].usPerCall(true); got < 32.99 || got > 33.01 {
		t.Errorf("traced µs per call %v, want 33", got)
	}
	if got := b.flipRatio("b-tcp", "t1"); got != "1.10× (1.05–1.15, 3 runs)" {
		t.Errorf("t1 ratio %q", got)
	}
	if got := b.flipRatio("b-tcp", "tn"); got != "–" {
		t.Errorf("tn ratio of a run with failed calls %q, want none", got)
	}
	var w strings.Builder
	b.writeFlips(&w)
	out := w.String()
	for _, want := range []string{"## Tracing flipped in one process", "| b-tcp | 1.10× (1.05–1.15, 3 runs) | – |", "| b-tcp | t1 | 2 | 4,000 | 20 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| a |") {
		t.Errorf("untraced forwarder a in the flip section:\n%s", out)
	}
	if !strings.Contains(b.report(environment{}), "## Tracing flipped in one process") {
		t.Error("the report has no flip section")
	}
}
