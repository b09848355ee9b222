package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Phases of a step.
const (
	phaseCPU  = "cpu"  // fixed rate, for the CPU per call
	phaseRamp = "ramp" // one rate of the search for the highest rate
)

// stepSpec is one SIPp run through a forwarder.
type stepSpec struct {
	Phase    string
	Mode     string // t1 or tn
	Rate     int    // calls per second asked of SIPp
	Duration time.Duration
	Round    int
}

// calls is the number of calls the step places.
func (s stepSpec) calls() int { return int(float64(s.Rate) * s.Duration.Seconds()) }

// stepResult is what one step measured.
type stepResult struct {
	Forwarder string
	stepSpec
	Stats   sippStats
	UACExit int

	// CPU time during the uac's run (plus the drain after it).
	FwdCPU, UACCPU, UASCPU, SelfCPU time.Duration
	Machine                         machineCPU
	Wall                            time.Duration
	// BusyBefore is how many cores were busy in the last second before
	// the step started.
	BusyBefore float64

	HEP       hepCounts
	HEPTypes  map[byte]uint64 // packets by HEP protocol type
	OTLP      otlpCounts
	Export    exportCounts
	HasExport bool

	Err string // the step could not run
}

// passed reports whether every call placed succeeded.
func (r stepResult) passed() bool {
	return r.Err == "" && r.UACExit == 0 && r.Stats.Failed == 0 && r.Stats.Successful == r.calls()
}

// reached reports whether SIPp achieved at least 90% of the asked rate.
func (r stepResult) reached() bool { return r.Stats.Rate() >= 0.9*float64(r.Rate) }

// valid reports whether a fixed-rate run measured what it should: every
// call passed at (nearly) the asked rate.
func (r stepResult) valid() bool { return r.passed() && r.reached() }

// usPerCall is the forwarder's CPU time per successful call, in µs.
func (r stepResult) usPerCall() float64 {
	if r.Stats.Successful == 0 {
		return 0
	}
	return float64(r.FwdCPU.Microseconds()) / float64(r.Stats.Successful)
}

// cores converts CPU time during the step into busy cores.
func (r stepResult) cores(d time.Duration) float64 {
	if r.Wall <= 0 {
		return 0
	}
	return d.Seconds() / r.Wall.Seconds()
}

// otherCPU is the CPU time of every process outside the benchmark (the
// machine is shared) during the step.
func (r stepResult) otherCPU() time.Duration {
	o := r.Machine.Busy - r.FwdCPU - r.UACCPU - r.UASCPU - r.SelfCPU
	if o < 0 {
		return 0
	}
	return o
}

// drain is how long a step waits after the uac ends before it reads the
// CPU times and counters: exporters send their last batches.
const drain = 2 * time.Second

// runStep runs s through f.
func (b *bench) runStep(f *forwarder, s stepSpec) stepResult {
	r := stepResult{Forwarder: f.spec.Key, stepSpec: s}
	dir := filepath.Join(f.dir, fmt.Sprintf("%s-%s-%d-r%d", s.Phase, s.Mode, s.Rate, s.Round))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Err = err.Error()
		return r
	}
	r.BusyBefore = b.settle()
	b.logf("%s %s %s %d calls/s for %s (round %d; %.2f cores busy before)", f.spec.Key, s.Phase, s.Mode, s.Rate, s.Duration, s.Round, r.BusyBefore)
	uas, err := b.startUAS(dir, s.Mode)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer uas.stop(syscall.SIGKILL, time.Second)

	fwd0, self0, hep0, otlp0 := f.cpu(), selfCPU(), b.hep.snapshot(), b.otlp.snapshot()
	exp0, _ := f.exportCounts("")
	types0 := b.hep.types()
	m0, err := readMachineCPU()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	t0 := time.Now()
	stat := filepath.Join(dir, "uac-stats.csv")
	uac, err := b.start(dir, "uac", b.sippBin, uacArgs(s.Mode, s.Rate, s.calls(), 3*s.Duration+30*time.Second, stat)...)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.UACExit = uac.wait()
	time.Sleep(drain)
	r.Wall = time.Since(t0)
	r.FwdCPU = f.cpu() - fwd0
	r.SelfCPU = selfCPU() - self0
	m1, err := readMachineCPU()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Machine = machineCPU{Busy: m1.Busy - m0.Busy, Total: m1.Total - m0.Total}
	r.HEP = b.hep.snapshot().sub(hep0)
	r.HEPTypes = map[byte]uint64{}
	for t, n := range b.hep.types() {
		if n > types0[t] {
			r.HEPTypes[t] = n - types0[t]
		}
	}
	r.OTLP = b.otlp.snapshot().sub(otlp0)
	if exp1, ok := f.exportCounts(filepath.Join(dir, "sipwire-stats.json")); ok {
		r.Export, r.HasExport = exp1.sub(exp0), true
	}
	uas.stop(syscall.SIGKILL, time.Second)
	r.UACCPU, r.UASCPU = uac.cpu(), uas.cpu()
	if r.Stats, err = readSIPpStats(stat); err != nil {
		r.Err = err.Error()
	}
	if f.proc.exited() {
		r.Err = fmt.Sprintf("the forwarder exited (see %s)", f.proc.out.Name())
	}
	b.logf("  -> exit %d, %d ok, %d failed, %.0f calls/s, %.1f µs/call, other processes %.2f cores",
		r.UACExit, r.Stats.Successful, r.Stats.Failed, r.Stats.Rate(), r.usPerCall(), r.cores(r.otherCPU()))
	return r
}

// startUAS starts SIPp's uas in mode and waits until it listens.
func (b *bench) startUAS(dir, mode string) (*child, error) {
	uas, err := b.start(dir, "uas", b.sippBin, uasArgs(mode)...)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); !listening(uasPort); {
		if uas.exited() || time.Now().After(deadline) {
			uas.stop(syscall.SIGKILL, time.Second)
			return nil, fmt.Errorf("the uas did not listen on port %d (see %s)", uasPort, uas.out.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return uas, nil
}

// selfCPU is the CPU time of this process (the HEP and OTLP receivers).
func selfCPU() time.Duration {
	s, err := readProcStat(os.Getpid())
	if err != nil {
		return 0
	}
	return s.CPU
}

// Settling between steps: at least settleMin, then until fewer than
// quietCores cores are busy over a second, at most settleMax.
const (
	settleMin  = 3 * time.Second
	settleMax  = 20 * time.Second
	quietCores = 0.3
)

// settle lets the machine go quiet and returns how many cores were busy in
// the last second.
func (b *bench) settle() float64 {
	time.Sleep(settleMin)
	deadline := time.Now().Add(settleMax - settleMin)
	for {
		busy := busyCores(time.Second)
		if busy < quietCores || time.Now().After(deadline) {
			return busy
		}
	}
}

// busyCores measures how many cores the whole machine keeps busy over d.
func busyCores(d time.Duration) float64 {
	m0, err := readMachineCPU()
	if err != nil {
		return -1
	}
	t0 := time.Now()
	time.Sleep(d)
	m1, err := readMachineCPU()
	if err != nil {
		return -1
	}
	return (m1.Busy - m0.Busy).Seconds() / time.Since(t0).Seconds()
}
