package main

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// Memory is returned once per burst that ended: a peak of at least
// memoryBurstConns connections with a reader in a sample (active, plus
// opened since the sample before) that fell to a quarter, no more often
// than memoryMinInterval; small bursts and steady loads never.
func TestMemoryReturnedAfterABurst(t *testing.T) {
	base := time.Now()
	tests := []struct {
		name   string
		open   []int    // active connections, one sample a second
		opened []uint64 // connections ever opened at each sample; nil: none
		parked []int    // parked connections at each sample; nil: none
		frees  []int    // the samples that return memory
	}{
		{"steady load", []int{300, 320, 310, 290, 300, 305}, nil, nil, nil},
		{"small burst", []int{10, 400, 499, 20, 5, 0}, nil, nil, nil},
		{"burst ends", []int{0, 2000, 5000, 4000, 1300, 1200, 0, 0}, nil, nil, []int{5}},
		{"burst that only halves", []int{0, 5000, 2500, 2500}, nil, nil, nil},
		{"at the bound", []int{0, 500, 125}, nil, nil, []int{2}},
		{"two bursts within the minimum interval", []int{0, 5000, 0, 5000, 0}, nil, nil, []int{2}},
		// Phones that connect, ping and park at once: never many active.
		{"burst of connections that park at once", []int{0, 40, 60, 0, 0}, []uint64{0, 4000, 10000, 10000, 10000}, nil, []int{3}},
		{"steady stream of short connections", []int{20, 20, 20, 20, 20}, []uint64{0, 300, 600, 900, 1200}, nil, nil},
		{"connections arriving, then fewer", []int{0, 0, 0, 0}, []uint64{0, 2000, 3000, 3100}, nil, []int{3}},
		// Parked connections closing free their memory too.
		{"parked connections close", []int{0, 0, 0, 0}, nil, []int{10000, 10000, 4000, 2000}, []int{3}},
		{"parked connections stay", []int{0, 0, 0}, nil, []int{10000, 10000, 10000}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			var logs strings.Builder
			frees := 0
			m := newMemoryReturner(func() memorySample {
				smp := memorySample{active: tt.open[i], open: tt.open[i]}
				if tt.parked != nil {
					smp.open += tt.parked[i]
				}
				if tt.opened != nil {
					smp.opened = tt.opened[i]
				}
				return smp
			}, slog.New(slog.NewTextHandler(&logs, nil)))
			m.free = func() { frees++; debug.FreeOSMemory() }
			releases := 0
			m.release = func(context.Context) error { releases++; return nil }
			defer func() {
				if releases != frees {
					t.Errorf("%d releases outside the Go heap for %d returns", releases, frees)
				}
			}()
			var got []int
			for i = range tt.open {
				if m.check(base.Add(time.Duration(i) * memoryCheckEvery)) {
					got = append(got, i)
				}
			}
			if len(got) != len(tt.frees) || frees != len(tt.frees) {
				t.Fatalf("returned at samples %v (%d calls), want %v", got, frees, tt.frees)
			}
			for j := range got {
				if got[j] != tt.frees[j] {
					t.Errorf("returned at samples %v, want %v", got, tt.frees)
				}
			}
			if n := strings.Count(logs.String(), "free memory returned to the OS"); n != len(tt.frees) {
				t.Errorf("%d log lines, want %d", n, len(tt.frees))
			}
		})
	}
	// A second burst after the minimum interval returns memory again.
	open := 0
	m := newMemoryReturner(func() memorySample { return memorySample{active: open, open: open} }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for k, o := range []int{5000, 0} {
		open = o
		m.check(base.Add(time.Duration(k) * time.Second))
	}
	open = 5000
	m.check(base.Add(memoryMinInterval))
	open = 0
	if !m.check(base.Add(memoryMinInterval + 2*time.Second)) {
		t.Error("a second burst, after memoryMinInterval: memory not returned")
	}
}

// A release of memory outside the Go heap that does not return (the
// history's writer stuck on a full disk) is cut at memoryReleaseTimeout,
// logged, and the Go heap's memory is returned all the same.
func TestMemoryReleaseIsBounded(t *testing.T) {
	var logs strings.Builder
	open := 5000
	m := newMemoryReturner(func() memorySample { return memorySample{active: open, open: open} }, slog.New(slog.NewTextHandler(&logs, nil)))
	frees := 0
	m.free = func() { frees++ }
	m.release = func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	base := time.Now()
	m.check(base)
	open = 0
	start := time.Now()
	if !m.check(base.Add(memoryCheckEvery)) {
		t.Fatal("the burst's end returned no memory")
	}
	if d := time.Since(start); d < memoryReleaseTimeout || d > memoryReleaseTimeout+5*time.Second {
		t.Errorf("a stuck release took %s, bound %s", d, memoryReleaseTimeout)
	}
	if frees != 1 || !strings.Contains(logs.String(), "releasing memory held outside the Go heap failed") {
		t.Errorf("frees %d, log %q", frees, logs.String())
	}
}
