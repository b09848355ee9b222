package main

import (
	"strings"
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 12345.6: "12,346", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// step builds a finished step of key in mode with calls successful calls
// of which failed failed, costing cpu of forwarder time.
func step(key, phase, mode string, rate, ok, failed int, cpu time.Duration) stepResult {
	exit := 0
	if failed > 0 {
		exit = 1
	}
	return stepResult{Forwarder: key, stepSpec: stepSpec{Phase: phase, Mode: mode, Rate: rate, Duration: time.Second, Round: 1},
		Stats:   sippStats{Successful: ok, Failed: failed, Elapsed: time.Duration(float64(ok) / float64(rate) * float64(time.Second))},
		UACExit: exit, FwdCPU: cpu, Wall: time.Second}
}

func TestFigures(t *testing.T) {
	b := &bench{opts: options{Forwarders: []string{"b", "d"}}, idle: map[string]idleResult{}}
	b.steps = []stepResult{
		step("b", phaseCPU, "t1", 4000, 4000, 0, 400*time.Millisecond), // 100 µs
		step("b", phaseCPU, "t1", 4000, 4000, 0, 320*time.Millisecond), // 80 µs
		step("b", phaseCPU, "t1", 4000, 4000, 0, 360*time.Millisecond), // 90 µs
		step("d", phaseCPU, "t1", 4000, 4000, 0, 480*time.Millisecond), // 120 µs
		step("b", phaseRamp, "t1", 8000, 8000, 0, time.Second),
		step("b", phaseRamp, "t1", 10000, 10000, 0, time.Second),
		step("b", phaseRamp, "t1", 12000, 11900, 100, time.Second),
		step("d", phaseRamp, "t1", 4000, 4000, 0, time.Second),
		step("d", phaseRamp, "t1", 6000, 4000, 0, time.Second), // SIPp reached only 4,000/s
	}
	b.steps[8].Stats.Successful = 6000
	b.steps[8].Stats.Elapsed = 1500 * time.Millisecond
	f := b.cpuFigure("b", "t1")
	if f.Runs != 3 || f.Median != 90 || f.Min != 80 || f.Max != 100 || !f.AllValid {
		t.Errorf("cpu figure %+v", f)
	}
	if r, s := ratio(f, b.cpuFigure("d", "t1")); s != "0.75×" || verdict(r, s, 0.9) != "met" || verdict(r, s, 0.7) != "**missed**" {
		t.Errorf("ratio %v %q", r, s)
	}
	mb := b.maxRate("b", "t1")
	if mb.Best == nil || mb.Best.Rate != 10000 || mb.StoppedAt == nil || mb.StoppedAt.Rate != 12000 {
		t.Fatalf("max rate of b: %+v", mb)
	}
	if s := mb.String(); !strings.HasPrefix(s, "10,000") || !strings.Contains(s, "12,000: 100 failed, SIPp exit 1, 11,900 of 12,000 calls completed") {
		t.Errorf("max rate of b: %q", s)
	}
	if s := b.maxRate("d", "t1").String(); !strings.HasPrefix(s, "4,000") || !strings.Contains(s, "only 4,000/s achieved") {
		t.Errorf("max rate of d: %q", s)
	}
	b.steps = append(b.steps,
		step("b", phaseRamp, "tn", 2000, 1900, 100, time.Second), // spoilt, tried again
		step("b", phaseRamp, "tn", 2000, 2000, 0, time.Second),
		step("b", phaseRamp, "tn", 3000, 3000, 0, time.Second))
	if m := b.maxRate("b", "tn"); m.Best == nil || m.Best.Rate != 3000 || m.StoppedAt != nil {
		t.Errorf("max rate of b, tn, after a spoilt step: %+v", m)
	}
	rep := b.report(environment{Date: time.Unix(0, 0)})
	for _, want := range []string{"| (b) / (d) | 0.75× |", "≤ 0.9× | met", "10,000 calls/s t1 with no failed call: **met**"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

// TestSavedRoundTrip: a report rendered from results.json is the report of
// the run.
func TestSavedRoundTrip(t *testing.T) {
	b := &bench{opts: options{Forwarders: []string{"b", "d"}, Rounds: 1}, idle: map[string]idleResult{"b": {Conns: 10, Before: 1 << 20, After: 2 << 20, PerConn: 104857.6}}}
	s := step("b", phaseRamp, "t1", 10000, 10000, 0, time.Second)
	s.HEP = hepCounts{Packets: 200000, SIP: 120000, Other: 80000}
	s.HEPTypes = map[byte]uint64{1: 120000, 100: 80000}
	s.HasExport = true
	s.Export = exportCounts{HEPDrops: map[string]uint64{"queue_full": 5}}
	b.steps = []stepResult{step("d", phaseCPU, "t1", 4000, 4000, 0, time.Second), s}
	env := environment{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Command: "sudo bash deploy/bench/run.sh"}
	path := t.TempDir() + "/results.json"
	if err := b.save(path, env); err != nil {
		t.Fatal(err)
	}
	b2, env2, err := loadSaved(path)
	if err != nil {
		t.Fatal(err)
	}
	want, got := b.report(env), b2.report(env2)
	if got != want {
		t.Fatalf("report from results.json differs:\n%s\n--- want:\n%s", got, want)
	}
	for _, w := range []string{"12.00 SIP + 8.00 log", "10,000 calls/s (12.00 SIP packets per call)", "HEP queue_full 5", "with 0 HEP drops and every SIP message traced at 10,000 calls/s: **missed**", "(b), highest t1 rate with no failed call **and** at least 99%"} {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q", w)
		}
	}
}

// TestBeforeRows: forwarders run with -sipwire-before get their own rows,
// after/before ratios, and the goals measured with the code before.
func TestBeforeRows(t *testing.T) {
	b := &bench{opts: options{Forwarders: []string{"a:before", "a", "b-tcp", "b-tcp:before", "c"}, BeforeVersion: "abc123"}, idle: map[string]idleResult{}}
	b.steps = []stepResult{
		step("a", phaseCPU, "t1", 4000, 4000, 0, 240*time.Millisecond),            // 60 µs
		step("a:before", phaseCPU, "t1", 4000, 4000, 0, 240*time.Millisecond),     // 60 µs
		step("b-tcp", phaseCPU, "t1", 4000, 4000, 0, 264*time.Millisecond),        // 66 µs
		step("b-tcp:before", phaseCPU, "t1", 4000, 4000, 0, 330*time.Millisecond), // 82.5 µs
		step("c", phaseCPU, "t1", 4000, 4000, 0, 200*time.Millisecond),            // 50 µs
	}
	var keys []string
	for _, s := range b.specs() {
		keys = append(keys, s.Key)
	}
	if got := strings.Join(keys, " "); got != "a a:before b-tcp b-tcp:before c" {
		t.Errorf("specs: %s", got)
	}
	rep := b.report(environment{Date: time.Unix(0, 0)})
	for _, want := range []string{
		"| (a:before) | sipwire, tracing off (history on), before (sipwire abc123) |",
		"| (b-tcp) / (a) | 1.10× | – | ≤ 1.15× | met |",
		"| (b-tcp) / (b-tcp:before) | 0.80× |",
		"| (b-tcp:before) / (a:before) | 1.38× | – | ≤ 1.15× | **missed** |",
		"| (a:before) / (c) | 1.20× | – | ≤ 0.9× | **missed** |",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}
