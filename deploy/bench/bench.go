package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// options are the benchmark's settings (flags of main).
type options struct {
	Rounds       int           // fixed-rate runs per forwarder and mode; the median is reported
	CPUDuration  time.Duration // length of a fixed-rate run
	StepDuration time.Duration // length of a ramp step
	RateT1       int           // fixed rate of the t1 CPU runs
	RateTN       int           // fixed rate of the tn CPU runs
	RampT1       []int         // ramp rates, t1
	RampTN       []int         // ramp rates, tn
	IdleConns    int           // idle connections opened for the memory figure; 0: skip
	Forwarders   []string      // keys of forwarderSpecs to run, each maybe with beforeSuffix
	SkipRamp     bool
	Modes        []string // SIPp modes run: "t1", "tn" or both
	// BeforeVersion names the binary of -sipwire-before (the "X:before"
	// forwarders), for the report.
	BeforeVersion string
	// FlipPhases is the number of one-second phases of a flip run
	// (flip.go); 0 skips the flip phase.
	FlipPhases int
}

// bench is one run of the benchmark.
type bench struct {
	opts        options
	benchDir    string // deploy/bench: configs
	workDir     string // logs, SIPp statistics, history files
	sipwireBin  string
	beforeBin   string // -sipwire-before: the sipwire of the "X:before" forwarders
	kamailioBin string
	sippBin     string
	log         io.Writer

	hep  *hepCounter
	otlp *otlpReceiver

	mu       sync.Mutex
	children map[*child]bool

	idle  map[string]idleResult
	steps []stepResult
	flips []flipResult
}

// logf writes a progress line.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// start starts a child process and tracks it until the benchmark ends.
func (b *bench) start(dir, name, bin string, args ...string) (*child, error) {
	c, err := startChild(dir, name, bin, args...)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	for old := range b.children {
		if old.exited() {
			delete(b.children, old)
		}
	}
	b.children[c] = true
	b.mu.Unlock()
	return c, nil
}

// killAll kills every child still running (on SIGINT/SIGTERM).
func (b *bench) killAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.children {
		if !c.exited() {
			_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		}
	}
}

// beforeSuffix marks a forwarder run with the sipwire of -sipwire-before:
// "b-tcp:before" is (b-tcp) with that binary, so that a change is measured
// against the code before it in the same run.
const beforeSuffix = ":before"

// specs returns the selected forwarders in table order, each "X:before"
// right after X.
func (b *bench) specs() []forwarderSpec {
	var out []forwarderSpec
	for _, s := range forwarderSpecs() {
		for _, k := range b.opts.Forwarders {
			if k == s.Key {
				out = append(out, s)
			}
		}
		for _, k := range b.opts.Forwarders {
			if k == s.Key+beforeSuffix && s.Kind == kindSipwire {
				t := s
				t.Key, t.Before = k, true
				t.Title = fmt.Sprintf("%s, before (sipwire %s)", s.Title, b.opts.BeforeVersion)
				out = append(out, t)
			}
		}
	}
	return out
}

// run runs every phase: idle memory, CPU per call, flips, ramps.
func (b *bench) run() {
	if b.opts.IdleConns > 0 {
		for _, s := range b.specs() {
			b.runIdle(s)
		}
	}
	for round := 1; round <= b.opts.Rounds; round++ {
		for _, mode := range b.opts.Modes {
			for _, s := range b.specs() {
				rate := b.opts.RateT1
				if mode == "tn" {
					rate = b.opts.RateTN
				}
				// A run spoilt by the shared machine (calls failed, or SIPp
				// could not keep the rate) is tried once more; both are
				// reported, the median takes valid runs only.
				for try := 0; try < 2; try++ {
					var r stepResult
					b.withForwarder(s, fmt.Sprintf("%s-%s-cpu-r%d-%d", s.Key, mode, round, try), func(f *forwarder) {
						r = b.runStep(f, stepSpec{Phase: phaseCPU, Mode: mode, Rate: rate, Duration: b.opts.CPUDuration, Round: round})
						b.steps = append(b.steps, r)
					})
					if r.valid() {
						break
					}
				}
			}
		}
	}
	if b.opts.FlipPhases > 0 {
		b.runFlips()
	}
	if b.opts.SkipRamp {
		return
	}
	for _, s := range b.specs() {
		if !s.Ramp {
			continue
		}
		for _, mode := range b.opts.Modes {
			rates := b.opts.RampT1
			if mode == "tn" {
				rates = b.opts.RampTN
			}
			b.withForwarder(s, fmt.Sprintf("%s-%s-ramp", s.Key, mode), func(f *forwarder) {
				for _, rate := range rates {
					if !b.rampStep(f, mode, rate) {
						return
					}
				}
			})
		}
	}
}

// spoilt is how many cores other processes may use during a step before
// a failed ramp step is put down to them and tried again.
const spoilt = 0.3

// rampStep runs one ramp step and reports whether the ramp goes on. A step
// that fails while other processes kept more than spoilt cores busy is
// tried once more; both runs are reported.
func (b *bench) rampStep(f *forwarder, mode string, rate int) bool {
	for try := 1; try <= 2; try++ {
		r := b.runStep(f, stepSpec{Phase: phaseRamp, Mode: mode, Rate: rate, Duration: b.opts.StepDuration, Round: try})
		b.steps = append(b.steps, r)
		if f.proc.exited() {
			return false
		}
		if r.passed() && r.reached() {
			return true
		}
		if r.cores(r.otherCPU()) <= spoilt {
			return false
		}
	}
	return false
}

// withForwarder starts s, runs fn with it, and stops it.
func (b *bench) withForwarder(s forwarderSpec, name string, fn func(*forwarder)) {
	f, err := b.startForwarder(s, filepath.Join(b.workDir, name))
	if err != nil {
		b.logf("%s: %v", s.Key, err)
		b.steps = append(b.steps, stepResult{Forwarder: s.Key, Err: err.Error()})
		return
	}
	defer func() {
		f.stop()
		// The event history grows by hundreds of MB in a ramp and is
		// not part of the report.
		hist, _ := filepath.Glob(filepath.Join(f.dir, "sipwire-history.db*"))
		for _, h := range hist {
			_ = os.Remove(h)
		}
	}()
	fn(f)
}

// idleResult is the memory figure of one forwarder.
type idleResult struct {
	Conns         int
	Before, After int64 // PSS of all the forwarder's processes, bytes
	PerConn       float64
	Err           string
}

// runIdle opens IdleConns idle connections to a fresh forwarder and
// measures how much its resident memory (PSS) grows.
func (b *bench) runIdle(s forwarderSpec) {
	b.withForwarder(s, s.Key+"-idle", func(f *forwarder) {
		res := idleResult{Conns: b.opts.IdleConns}
		defer func() { b.idle[s.Key] = res }()
		time.Sleep(2 * time.Second)
		var err error
		if res.Before, err = pssBytes(f.pids()); err != nil {
			res.Err = err.Error()
			return
		}
		conns := make([]net.Conn, 0, res.Conns)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range res.Conns {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", forwarderPort), 5*time.Second)
			if err != nil {
				res.Err = fmt.Sprintf("after %d connections: %v", len(conns), err)
				return
			}
			conns = append(conns, c)
		}
		time.Sleep(3 * time.Second)
		if res.After, err = pssBytes(f.pids()); err != nil {
			res.Err = err.Error()
			return
		}
		res.PerConn = float64(res.After-res.Before) / float64(res.Conns)
		b.logf("%s idle: %d connections, PSS %d -> %d KiB, %.0f bytes per connection", s.Key, res.Conns, res.Before>>10, res.After>>10, res.PerConn)
	})
}
