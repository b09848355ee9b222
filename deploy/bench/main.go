package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fixed addresses of the receivers, as in the sipwire-*.yaml and
// kamailio.cfg of this folder.
const (
	hepAddr  = "127.0.0.1:9060"
	otlpAddr = "127.0.0.1:4318"
)

// errHostNamespace refuses to run in the machine's own network namespace.
var errHostNamespace = errors.New("bench: run in a network namespace of its own (unshare -n), as run.sh does")

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run parses the flags, runs the benchmark and writes the report.
func run() error {
	var (
		benchDir   = flag.String("bench-dir", "deploy/bench", "folder of the configs (kamailio.cfg, sipwire-*.yaml)")
		workDir    = flag.String("work", "", "folder for logs and SIPp statistics (default: a new folder under /tmp)")
		sipwire    = flag.String("sipwire", "", "sipwire binary (required)")
		before     = flag.String("sipwire-before", "", `a second sipwire binary, run by the forwarders "X:before" (e.g. -forwarders a,b-tcp,b-tcp:before)`)
		beforeVer  = flag.String("sipwire-before-version", "", "the commit of -sipwire-before, recorded in the report")
		out        = flag.String("out", "", "write the markdown report here (default: stdout only)")
		command    = flag.String("command", strings.Join(os.Args, " "), "the command line recorded in the report")
		version    = flag.String("sipwire-version", "", "sipwire commit recorded in the report")
		rounds     = flag.Int("rounds", 3, "fixed-rate runs per forwarder and mode (median reported)")
		cpuDur     = flag.Duration("cpu-duration", 20*time.Second, "length of a fixed-rate run")
		stepDur    = flag.Duration("step-duration", 15*time.Second, "length of a ramp step")
		rateT1     = flag.Int("rate-t1", 4000, "fixed rate, calls/s, t1")
		rateTN     = flag.Int("rate-tn", 2000, "fixed rate, calls/s, tn")
		rampT1     = flag.String("ramp-t1", "4000,6000,8000,10000,12000,14000,16000,18000,20000", "ramp rates, t1")
		rampTN     = flag.String("ramp-tn", "2000,3000,4000,5000,6000,7000,8000", "ramp rates, tn")
		idle       = flag.Int("idle-conns", 1000, "idle connections for the memory figure (0: skip)")
		fwds       = flag.String("forwarders", "a,a0,b,b-tcp,b-udp,c,d", `forwarders to run (a, a0, b, b-tcp, b-udp, c, d; "X:before" runs sipwire forwarder X with -sipwire-before)`)
		noRamp     = flag.Bool("no-ramp", false, "skip the search for the highest rate")
		flip       = flag.Int("flip", 0, "after the fixed-rate runs, run each traced sipwire forwarder (b, b-tcp, b-udp) at the fixed rate for this many 1-s phases, tracing flipped on and off over the REST API each phase: traced against untraced CPU in one process, per round and mode (0: skip)")
		modes      = flag.String("modes", "t1,tn", "SIPp transport modes to run (t1, tn, or both)")
		quick      = flag.Bool("quick", false, "a short smoke run: 1 round of 5 s, ramps of 2 steps of 5 s, 200 idle connections")
		hostNetnet = flag.Bool("allow-host-netns", false, "run in the machine's network namespace (not recommended)")
		reportFrom = flag.String("report-from", "", "render the report again from a results.json of an earlier run, run nothing")
	)
	flag.Parse()
	if *reportFrom != "" {
		b, env, err := loadSaved(*reportFrom)
		if err != nil {
			return err
		}
		return writeReport(b.report(env), *out)
	}
	if *sipwire == "" {
		return errors.New("bench: -sipwire is required")
	}
	if !*hostNetnet && sameNetNS() {
		return errHostNamespace
	}
	t1, err := parseRates(*rampT1)
	if err != nil {
		return err
	}
	tn, err := parseRates(*rampTN)
	if err != nil {
		return err
	}
	for _, m := range strings.Split(*modes, ",") {
		if m != "t1" && m != "tn" {
			return fmt.Errorf("bench: -modes: %q is neither t1 nor tn", m)
		}
	}
	opts := options{Rounds: *rounds, CPUDuration: *cpuDur, StepDuration: *stepDur, RateT1: *rateT1, RateTN: *rateTN,
		RampT1: t1, RampTN: tn, IdleConns: *idle, Forwarders: strings.Split(*fwds, ","), SkipRamp: *noRamp,
		Modes:         strings.Split(*modes, ","),
		BeforeVersion: *beforeVer, FlipPhases: *flip}
	if *quick {
		// Flags given explicitly win over -quick's settings.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["rounds"] {
			opts.Rounds = 1
		}
		if !set["cpu-duration"] {
			opts.CPUDuration = 5 * time.Second
		}
		if !set["step-duration"] {
			opts.StepDuration = 5 * time.Second
		}
		if !set["idle-conns"] {
			opts.IdleConns = 200
		}
		if !set["ramp-t1"] {
			opts.RampT1 = t1[:min(2, len(t1))]
		}
		if !set["ramp-tn"] {
			opts.RampTN = tn[:min(2, len(tn))]
		}
	}
	b := &bench{opts: opts, log: os.Stderr, children: map[*child]bool{}, idle: map[string]idleResult{}}
	if b.benchDir, err = filepath.Abs(*benchDir); err != nil {
		return err
	}
	if b.sipwireBin, err = filepath.Abs(*sipwire); err != nil {
		return err
	}
	for _, k := range opts.Forwarders {
		if strings.HasSuffix(k, beforeSuffix) && *before == "" {
			return fmt.Errorf("bench: forwarder %q needs -sipwire-before", k)
		}
	}
	if *before != "" {
		if b.beforeBin, err = filepath.Abs(*before); err != nil {
			return err
		}
	}
	if b.sippBin, err = exec.LookPath("sipp"); err != nil {
		return fmt.Errorf("bench: sipp (Debian package sip-tester): %w", err)
	}
	if b.kamailioBin, err = exec.LookPath("kamailio"); err != nil {
		return fmt.Errorf("bench: kamailio (Debian package kamailio): %w", err)
	}
	b.workDir = *workDir
	if b.workDir == "" {
		if b.workDir, err = os.MkdirTemp("", "sipwire-bench-"); err != nil {
			return err
		}
	}
	if b.hep, err = listenHEP(hepAddr); err != nil {
		return err
	}
	defer b.hep.close()
	if b.otlp, err = listenOTLP(otlpAddr); err != nil {
		return err
	}
	defer b.otlp.close()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		b.logf("%v: stopping", s)
		b.killAll()
		os.Exit(130)
	}()

	env := describeMachine(*command, *version)
	started := time.Now()
	b.logf("work folder %s", b.workDir)
	b.run()
	env.Duration = time.Since(started).Round(time.Second)
	if err := b.save(filepath.Join(b.workDir, "results.json"), env); err != nil {
		b.logf("%v", err)
	}
	return writeReport(b.report(env), *out)
}

// writeReport prints the report and writes it to out unless out is "".
func writeReport(report, out string) error {
	fmt.Print(report)
	if out == "" {
		return nil
	}
	if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "report written to %s\n", out)
	return nil
}

// parseRates parses "4000,6000,...".
func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bench: bad rate %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// sameNetNS reports whether this process shares the network namespace of
// process 1.
func sameNetNS() bool {
	a, err1 := os.Readlink("/proc/self/ns/net")
	b, err2 := os.Readlink("/proc/1/ns/net")
	return err1 == nil && err2 == nil && a == b
}
