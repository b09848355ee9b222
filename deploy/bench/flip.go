package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The flip phase measures what tracing costs a sipwire forwarder within one
// process: SIPp runs at the fixed rate while the driver turns tracing on and
// off over the REST API every flipPhase, and the forwarder's CPU time is
// summed over the phases of each state. Fixed-rate runs compare forwarders
// started one after the other, whose CPU per call moves by a few per cent
// from run to run on a shared machine: about the whole cost of tracing. Here
// both states alternate every second in the same process, so that drifts of
// the machine fall on both alike.
const (
	// flipWarmup is how long the calls run before the first phase.
	flipWarmup = 3 * time.Second
	// flipPhase is one phase; flipSettle its first part, not measured
	// (packets of the previous state still leave).
	flipPhase  = time.Second
	flipSettle = 100 * time.Millisecond
)

// flipResult is one flip run of a traced sipwire forwarder.
type flipResult struct {
	Forwarder string
	Mode      string
	Round     int
	Rate      int // calls per second asked of SIPp
	Phases    int
	// OnCPU and OffCPU are the forwarder's CPU time in the measured part
	// of the phases with tracing on and off; OnWall and OffWall those
	// parts' wall time.
	OnCPU, OffCPU, OnWall, OffWall time.Duration
	Stats                          sippStats
	UACExit                        int
	Err                            string
}

// usPerCall is the CPU per call with tracing on or off, at the asked rate.
func (r flipResult) usPerCall(on bool) float64 {
	cpu, wall := r.OffCPU, r.OffWall
	if on {
		cpu, wall = r.OnCPU, r.OnWall
	}
	if wall <= 0 || r.Rate <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / (wall.Seconds() * float64(r.Rate))
}

// ratio is the CPU per call traced over untraced.
func (r flipResult) ratio() float64 {
	if off := r.usPerCall(false); off > 0 {
		return r.usPerCall(true) / off
	}
	return 0
}

// valid reports whether the run measured what it should: every call
// passed and every phase flipped.
func (r flipResult) valid() bool {
	return r.Err == "" && r.UACExit == 0 && r.Stats.Failed == 0 && r.OnWall > 0 && r.OffWall > 0
}

// runFlips runs the flip phase: each traced sipwire forwarder, each mode,
// each round.
func (b *bench) runFlips() {
	for round := 1; round <= b.opts.Rounds; round++ {
		for _, mode := range b.opts.Modes {
			for _, s := range b.specs() {
				if !s.Traced {
					continue
				}
				rate := b.opts.RateT1
				if mode == "tn" {
					rate = b.opts.RateTN
				}
				b.withForwarder(s, fmt.Sprintf("%s-%s-flip-r%d", s.Key, mode, round), func(f *forwarder) {
					b.flips = append(b.flips, b.runFlip(f, mode, rate, round))
				})
			}
		}
	}
}

// runFlip runs one flip run through f.
func (b *bench) runFlip(f *forwarder, mode string, rate, round int) flipResult {
	r := flipResult{Forwarder: f.spec.Key, Mode: mode, Round: round, Rate: rate, Phases: b.opts.FlipPhases}
	dir := filepath.Join(f.dir, fmt.Sprintf("flip-%s-%d-r%d", mode, rate, round))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Err = err.Error()
		return r
	}
	b.settle()
	b.logf("%s flip %s %d calls/s, %d phases of %s (round %d)", f.spec.Key, mode, rate, r.Phases, flipPhase, round)
	uas, err := b.startUAS(dir, mode)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer uas.stop(syscall.SIGKILL, time.Second)
	run := flipWarmup + time.Duration(r.Phases)*flipPhase + time.Second
	calls := int(float64(rate) * run.Seconds())
	stat := filepath.Join(dir, "uac-stats.csv")
	uac, err := b.start(dir, "uac", b.sippBin, uacArgs(mode, rate, calls, 3*run+30*time.Second, stat)...)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	time.Sleep(flipWarmup)
	for i := range r.Phases {
		on := i%2 == 0
		if err := setTracing(on); err != nil {
			r.Err = err.Error()
			break
		}
		time.Sleep(flipSettle)
		c0, t0 := schedCPU(f.pids()), time.Now()
		time.Sleep(flipPhase - flipSettle)
		cpu, wall := schedCPU(f.pids())-c0, time.Since(t0)
		if on {
			r.OnCPU, r.OnWall = r.OnCPU+cpu, r.OnWall+wall
		} else {
			r.OffCPU, r.OffWall = r.OffCPU+cpu, r.OffWall+wall
		}
	}
	if err := setTracing(true); err != nil && r.Err == "" {
		r.Err = err.Error()
	}
	r.UACExit = uac.wait()
	if r.Stats, err = readSIPpStats(stat); err != nil && r.Err == "" {
		r.Err = err.Error()
	}
	b.logf("  -> exit %d, %d ok, %d failed; traced %.1f µs/call, untraced %.1f: %.3f×",
		r.UACExit, r.Stats.Successful, r.Stats.Failed, r.usPerCall(true), r.usPerCall(false), r.ratio())
	return r
}

// setTracing turns the forwarder's tracing on or off over its REST API.
func setTracing(on bool) error {
	state := "off"
	if on {
		state = "on"
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+webAddr+"/api/v1/trace", strings.NewReader(`{"trace":"`+state+`"}`))
	if err != nil {
		return fmt.Errorf("set tracing %s: %w", state, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set tracing %s: %w", state, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("set tracing %s: %s", state, resp.Status)
	}
	return nil
}

// schedCPU is the CPU time of every thread of pids, from the scheduler's
// nanosecond counters (/proc/PID/task/TID/schedstat): /proc/PID/stat counts
// in ticks of 10 ms, too coarse for a phase of a second.
func schedCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, t := range tasks {
			raw, err := os.ReadFile(t)
			if err != nil {
				continue // the thread has exited
			}
			if d, err := parseSchedstat(raw); err == nil {
				total += d
			}
		}
	}
	return total
}

// parseSchedstat reads the time on CPU, the first field of a schedstat file.
func parseSchedstat(raw []byte) (time.Duration, error) {
	f := bytes.Fields(raw)
	if len(f) == 0 {
		return 0, fmt.Errorf("schedstat %q: no field", raw)
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %w", raw, err)
	}
	return time.Duration(ns), nil
}

// flipRatio is the median traced/untraced ratio of key's valid flip runs in
// mode, with their range, or "–".
func (b *bench) flipRatio(key, mode string) string {
	var rs []float64
	for _, r := range b.flips {
		if r.Forwarder == key && r.Mode == mode && r.valid() {
			rs = append(rs, r.ratio())
		}
	}
	if len(rs) == 0 {
		return "–"
	}
	slices.Sort(rs)
	return fmt.Sprintf("%.2f× (%.2f–%.2f, %d runs)", median(rs), rs[0], rs[len(rs)-1], len(rs))
}

// writeFlips writes the flip runs' section of the report.
func (b *bench) writeFlips(w *strings.Builder) {
	if len(b.flips) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Tracing flipped in one process\n\n")
	p("Each traced sipwire forwarder at the fixed rate, tracing turned on and off over the REST API every %s "+
		"(%s of each phase measured, after %s of calls), CPU time of its threads summed per state: "+
		"traced against untraced in the same process, the machine's drifts falling on both alike.\n\n",
		flipPhase, flipPhase-flipSettle, flipWarmup)
	p("| fwd | t1 traced / untraced | tn traced / untraced |\n|---|---|---|\n")
	for _, s := range b.specs() {
		if s.Traced {
			p("| %s | %s | %s |\n", s.Key, b.flipRatio(s.Key, "t1"), b.flipRatio(s.Key, "tn"))
		}
	}
	p("\n| fwd | mode | round | asked/s | phases | ok | failed | exit | traced µs/call | untraced µs/call | ratio | error |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.flips {
		p("| %s | %s | %d | %s | %d | %d | %d | %d | %.1f | %.1f | %.3f | %s |\n", r.Forwarder, r.Mode, r.Round,
			thousands(float64(r.Rate)), r.Phases, r.Stats.Successful, r.Stats.Failed, r.UACExit,
			r.usPerCall(true), r.usPerCall(false), r.ratio(), r.Err)
	}
	p("\n")
}
