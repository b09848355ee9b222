package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// environment describes the machine and the run, for the report.
type environment struct {
	Date           time.Time
	Command        string
	SipwireVersion string
	CPUs           int
	CPUModel       string
	Kernel         string
	MemTotal       string
	LoadAvg        string
	SIPp, Kamailio string
	Go             string
	Duration       time.Duration
}

// describeMachine collects the environment.
func describeMachine(command, version string) environment {
	e := environment{Date: time.Now(), Command: command, SipwireVersion: version, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	e.CPUModel = procField("/proc/cpuinfo", "model name", ":")
	e.MemTotal = procField("/proc/meminfo", "MemTotal", ":")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		e.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	e.SIPp = firstLineWith(exec.Command("sipp", "-v"), "SIPp")
	e.Kamailio = firstLineWith(exec.Command("kamailio", "-v"), "version")
	return e
}

// procField returns the value of the first "key<sep> value" line of file.
func procField(file, key, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// firstLineWith runs cmd and returns the first line of its output that
// contains word.
func firstLineWith(cmd *exec.Cmd, word string) string {
	out, _ := cmd.CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, word) {
			return strings.TrimSpace(l)
		}
	}
	return "?"
}

// cpuFigure is the median CPU per call of a forwarder and mode over the
// fixed-rate runs.
type cpuFigure struct {
	Median, Min, Max float64 // µs per call
	Runs             int
	// AllValid: the figure comes from valid runs (every call passed at
	// 90% of the asked rate or more). When no run was valid, it comes
	// from all runs and is flagged.
	AllValid bool
}

// cpuFigure computes the figure from the steps; Runs is 0 when none ran.
func (b *bench) cpuFigure(key, mode string) cpuFigure {
	var valid, all []float64
	for _, s := range b.steps {
		if s.Forwarder != key || s.Phase != phaseCPU || s.Mode != mode || s.Err != "" || s.Stats.Successful == 0 {
			continue
		}
		all = append(all, s.usPerCall())
		if s.valid() {
			valid = append(valid, s.usPerCall())
		}
	}
	fig := cpuFigure{AllValid: len(valid) > 0}
	v := valid
	if len(v) == 0 {
		v = all
	}
	if len(v) == 0 {
		return cpuFigure{}
	}
	slices.Sort(v)
	fig.Runs, fig.Min, fig.Max, fig.Median = len(v), v[0], v[len(v)-1], median(v)
	return fig
}

// median is the median of sorted, which is not empty.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// String formats the figure: "51.2 µs (49.0–55.1, 3 runs)".
func (f cpuFigure) String() string {
	if f.Runs == 0 {
		return "–"
	}
	s := fmt.Sprintf("%.1f µs", f.Median)
	if f.Runs > 1 {
		s += fmt.Sprintf(" (%.1f–%.1f)", f.Min, f.Max)
	}
	if !f.AllValid {
		s += " ⚠ no valid run (failed calls or rate not reached)"
	}
	return s
}

// maxRate is the outcome of a forwarder's ramp in one mode.
type maxRate struct {
	Best      *stepResult // highest step that passed and reached its rate
	StoppedAt *stepResult // the step that ended the ramp, nil when all passed
	Ran       bool
}

// maxRate reads the ramp of key in mode.
func (b *bench) maxRate(key, mode string) maxRate {
	var m maxRate
	for i := range b.steps {
		s := &b.steps[i]
		if s.Forwarder != key || s.Phase != phaseRamp || s.Mode != mode {
			continue
		}
		m.Ran = true
		if s.passed() && s.reached() {
			// A failed step before this one was a spoilt try, run again.
			m.Best, m.StoppedAt = s, nil
			continue
		}
		m.StoppedAt = s
	}
	return m
}

// String formats the outcome: "10,000 (9,987/s); 12,000: 35 failed".
func (m maxRate) String() string {
	if !m.Ran {
		return "–"
	}
	s := "none"
	if m.Best != nil {
		s = fmt.Sprintf("%s (%s/s achieved)", thousands(float64(m.Best.Rate)), thousands(m.Best.Stats.Rate()))
	}
	switch st := m.StoppedAt; {
	case st == nil:
		s += "; every step passed"
	case st.Err != "":
		s += fmt.Sprintf("; %s: %s", thousands(float64(st.Rate)), st.Err)
	case !st.passed():
		s += fmt.Sprintf("; %s: %s failed, SIPp exit %d, %s of %s calls completed", thousands(float64(st.Rate)),
			thousands(float64(st.Stats.Failed)), st.UACExit, thousands(float64(st.Stats.Successful)), thousands(float64(st.calls())))
	default:
		s += fmt.Sprintf("; %s: no failure but only %s/s achieved (SIPp or the machine is the limit)", thousands(float64(st.Rate)), thousands(st.Stats.Rate()))
	}
	return s
}

// rampStep10k is the first passing t1 ramp step of key at 10,000 calls/s
// or more.
func (b *bench) rampStep10k(key string) *stepResult {
	for i := range b.steps {
		s := &b.steps[i]
		if s.Forwarder == key && s.Phase == phaseRamp && s.Mode == "t1" && s.Rate >= 10000 && s.passed() && s.reached() {
			return s
		}
	}
	return nil
}

// tracedRate is the highest ramp step of key in mode that passed, reached
// its rate and delivered at least 99% of the SIP messages (12 per call) to
// the HEP collector.
func (b *bench) tracedRate(key, mode string) string {
	var best *stepResult
	for i := range b.steps {
		s := &b.steps[i]
		if s.Forwarder == key && s.Phase == phaseRamp && s.Mode == mode && s.passed() && s.reached() &&
			float64(s.HEP.SIP) >= 0.99*12*float64(s.Stats.Successful) {
			if best == nil || s.Rate > best.Rate {
				best = s
			}
		}
	}
	if best == nil {
		return "none"
	}
	return fmt.Sprintf("%s calls/s (%.2f SIP packets per call)", thousands(float64(best.Rate)), float64(best.HEP.SIP)/float64(best.Stats.Successful))
}

// thousands formats 12345.6 as "12,346".
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// report renders the markdown report.
func (b *bench) report(env environment) string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	specs := b.specs()
	p("# sipwire load benchmark: results\n\n")
	p("- Date: %s (run took %s)\n", env.Date.UTC().Format("2006-01-02 15:04 UTC"), env.Duration)
	p("- Machine: %d CPUs (nproc), %s, %s RAM, Linux %s; load average at start %s\n", env.CPUs, env.CPUModel, env.MemTotal, env.Kernel, env.LoadAvg)
	p("- Software: sipwire %s (%s), %s, %s\n", env.SipwireVersion, env.Go, env.SIPp, env.Kamailio)
	p("- Command: `%s`\n", env.Command)
	p("- Load: SIPp built-in `uac` → forwarder on 127.0.0.1:5060 → SIPp built-in `uas` on 127.0.0.1:5070, TCP, 6 messages per call; "+
		"fixed rates %s calls/s (t1) and %s calls/s (tn), %s per run, %d rounds (median, min–max); ramp steps of %s.\n\n",
		thousands(float64(b.opts.RateT1)), thousands(float64(b.opts.RateTN)), b.opts.CPUDuration, b.opts.Rounds, b.opts.StepDuration)

	p("## Summary\n\n")
	p("| | forwarder | CPU per call, t1 @ %s/s | CPU per call, tn @ %s/s | highest t1 rate with no failed call | highest tn rate with no failed call | memory per idle connection |\n",
		thousands(float64(b.opts.RateT1)), thousands(float64(b.opts.RateTN)))
	p("|---|---|---|---|---|---|---|\n")
	for _, s := range specs {
		p("| (%s) | %s | %s | %s | %s | %s | %s |\n", s.Key, s.Title, b.cpuFigure(s.Key, "t1"), b.cpuFigure(s.Key, "tn"),
			b.maxRate(s.Key, "t1"), b.maxRate(s.Key, "tn"), b.idleString(s.Key))
	}
	p("\n")
	b.writeGoals(&w)
	b.writeSteps(&w, phaseCPU, "Fixed-rate runs (CPU per call)")
	b.writeFlips(&w)
	b.writeSteps(&w, phaseRamp, "Ramp steps (highest rate with no failed call)")
	b.writeIdle(&w)
	p("%s", methodNotes)
	return w.String()
}

// idleString formats the idle-connection figure of key.
func (b *bench) idleString(key string) string {
	r, ok := b.idle[key]
	switch {
	case !ok:
		return "–"
	case r.Err != "":
		return "error: " + r.Err
	}
	return fmt.Sprintf("%.1f KiB", r.PerConn/1024)
}

// ratio formats x/y.
func ratio(x, y cpuFigure) (float64, string) {
	if x.Runs == 0 || y.Runs == 0 || y.Median == 0 {
		return 0, "–"
	}
	r := x.Median / y.Median
	return r, fmt.Sprintf("%.2f×", r)
}

// verdict says whether a ratio meets a goal of at most limit.
func verdict(r float64, s string, limit float64) string {
	switch {
	case s == "–":
		return "not measured"
	case r <= limit:
		return "met"
	}
	return "**missed**"
}

// ratioRow is one line of the ratio table: x / y, with a goal when
// limit > 0.
type ratioRow struct {
	x, y  string
	limit float64
}

// ratioRows are the ratios the report gives. The goals are issue 17's:
// sipwire untraced at most 0.9× Kamailio, fully traced over HEP/UDP at
// most 0.9× Kamailio with siptrace, and HEP over TCP at most 1.15× the
// same sipwire untraced.
var ratioRows = []ratioRow{
	{"a", "c", 0.9}, {"b", "d", 0.9}, {"b-tcp", "a", 1.15},
	{"a0", "c", 0}, {"b-udp", "d", 0}, {"b-udp", "a", 0}, {"b", "a", 0}, {"b-tcp", "b-udp", 0},
	{"b", "c", 0}, {"d", "c", 0},
}

// writeGoals writes the ratio table and the goals.
func (b *bench) writeGoals(w *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("### Ratios and goals\n\n")
	p("| ratio of CPU per call (medians) | t1 | tn | goal | t1 | tn |\n|---|---|---|---|---|---|\n")
	// With "X:before" forwarders: each after/before pair, and the goals
	// measured with the code before (a Kamailio stays itself).
	rows := slices.Clone(ratioRows)
	selected := map[string]bool{}
	for _, s := range b.specs() {
		selected[s.Key] = true
		if s.Before {
			rows = append(rows, ratioRow{x: strings.TrimSuffix(s.Key, beforeSuffix), y: s.Key})
		}
	}
	for _, r := range ratioRows {
		xb, yb := r.x+beforeSuffix, r.y+beforeSuffix
		if !selected[yb] {
			yb = r.y
		}
		if selected[xb] {
			rows = append(rows, ratioRow{x: xb, y: yb, limit: r.limit})
		}
	}
	for _, row := range rows {
		r1, s1 := ratio(b.cpuFigure(row.x, "t1"), b.cpuFigure(row.y, "t1"))
		r2, s2 := ratio(b.cpuFigure(row.x, "tn"), b.cpuFigure(row.y, "tn"))
		if s1 == "–" && s2 == "–" {
			continue
		}
		goal, v1, v2 := "(context)", "", ""
		if row.limit > 0 {
			goal, v1, v2 = fmt.Sprintf("≤ %s×", strconv.FormatFloat(row.limit, 'f', -1, 64)), verdict(r1, s1, row.limit), verdict(r2, s2, row.limit)
		}
		p("| (%s) / (%s) | %s | %s | %s | %s | %s |\n", row.x, row.y, s1, s2, goal, v1, v2)
	}
	p("\n")
	for _, key := range []string{"b", "b-tcp"} {
		m := b.maxRate(key, "t1")
		switch {
		case !m.Ran:
			continue
		case m.Best != nil && m.Best.Rate >= 10000:
			s := b.rampStep10k(key)
			p("- (%s) sustains 10,000 calls/s t1 with no failed call: **met** (highest passed step %s calls/s)", key, thousands(float64(m.Best.Rate)))
			if s != nil && s.HasExport {
				v := "**missed**"
				if len(s.Export.HEPDrops) == 0 && s.HEP.SIP >= 12*uint64(s.Stats.Successful) {
					v = "met"
				}
				p("; with 0 HEP drops and every SIP message traced at %s calls/s: %s (%.2f of the 12 SIP messages per call received; sipwire's drops: %s)",
					thousands(float64(s.Rate)), v, float64(s.HEP.SIP)/float64(max(s.Stats.Successful, 1)), s.Export.dropsString())
			}
			p(".\n")
		default:
			p("- (%s) sustains 10,000 calls/s t1 with no failed call: **missed** (%s).\n", key, m)
		}
	}
	for _, key := range []string{"b", "b-tcp", "d"} {
		if m := b.maxRate(key, "t1"); m.Ran {
			p("- (%s), highest t1 rate with no failed call **and** at least 99%% of the SIP messages traced (HEP packets of type SIP received per call ≥ 11.88 of 12): %s.\n",
				key, b.tracedRate(key, "t1"))
		}
	}
	ib, okb := b.idle["b"]
	ic, okc := b.idle["c"]
	if okb && okc && ib.Err == "" && ic.Err == "" {
		v := "met"
		if ib.PerConn >= ic.PerConn {
			v = "**missed**"
		}
		p("- memory per idle connection, (b) below Kamailio (c): %s (%.1f KiB vs %.1f KiB).\n", v, ib.PerConn/1024, ic.PerConn/1024)
	}
	p("\n")
}

// writeSteps writes one row per step of phase.
func (b *bench) writeSteps(w *strings.Builder, phase, title string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## %s\n\n", title)
	p("CPU columns are cores busy on average during the run (CPU time / wall time); *other* is every process outside the benchmark (the machine is shared), from /proc/stat minus the benchmark's processes; *before* is the machine's busy cores in the second before the run.\n\n")
	p("| fwd | mode | round | asked/s | achieved/s | ok | failed | exit | µs/call | fwd cores | SIPp cores | receivers cores | other cores | before | HEP packets/call received, by type | OTLP spans/call | sipwire drops |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range b.steps {
		if s.Phase != phase {
			continue
		}
		if s.Err != "" && s.Stats.Successful == 0 {
			p("| %s | %s | %d | %s | | | | | | | | | | | | | error: %s |\n", s.Forwarder, s.Mode, s.Round, thousands(float64(s.Rate)), s.Err)
			continue
		}
		calls := float64(max(s.Stats.Successful, 1))
		drops := "–"
		if s.HasExport {
			drops = s.Export.dropsString()
		}
		p("| %s | %s | %d | %s | %s | %d | %d | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %s |\n",
			s.Forwarder, s.Mode, s.Round, thousands(float64(s.Rate)), thousands(s.Stats.Rate()), s.Stats.Successful, s.Stats.Failed, s.UACExit,
			s.usPerCall(), s.cores(s.FwdCPU), s.cores(s.UACCPU+s.UASCPU), s.cores(s.SelfCPU), s.cores(s.otherCPU()), s.BusyBefore,
			hepPerCall(s, calls), float64(s.OTLP.Spans)/calls, drops)
	}
	p("\n")
}

// hepPerCall formats the HEP packets received per call by protocol type:
// "12.00 SIP + 2.10 log".
func hepPerCall(s stepResult, calls float64) string {
	if s.HEP.Packets == 0 {
		return "0"
	}
	var types []int
	for t := range s.HEPTypes {
		types = append(types, int(t))
	}
	slices.Sort(types)
	var parts []string
	for _, t := range types {
		name := fmt.Sprintf("type %d", t)
		switch t {
		case 1:
			name = "SIP"
		case 100:
			name = "log"
		case 0x59:
			name = "net (0x59)"
		}
		parts = append(parts, fmt.Sprintf("%.2f %s", float64(s.HEPTypes[byte(t)])/calls, name))
	}
	if s.HEP.Invalid > 0 {
		parts = append(parts, fmt.Sprintf("%.2f not HEPv3", float64(s.HEP.Invalid)/calls))
	}
	if s.HEP.Torn > 0 {
		parts = append(parts, fmt.Sprintf("%d TCP streams torn", s.HEP.Torn))
	}
	return strings.Join(parts, " + ")
}

// dropsString lists the non-zero drop counters: "hep queue_full 1200".
func (e exportCounts) dropsString() string {
	var parts []string
	add := func(prefix string, m map[string]uint64) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %s %d", prefix, k, m[k]))
		}
	}
	add("HEP", e.HEPDrops)
	add("OTLP", e.SpanDrops)
	if e.HistDropped > 0 {
		parts = append(parts, fmt.Sprintf("history %d", e.HistDropped))
	}
	add("event queue", e.QueueDrops)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// writeIdle writes the idle-connection measurements.
func (b *bench) writeIdle(w *strings.Builder) {
	if len(b.idle) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Memory per idle connection\n\n")
	p("N idle TCP connections opened to a fresh forwarder; the growth of the proportional set size (PSS, /proc/PID/smaps_rollup) summed over all its processes, 3 s after the last connect, divided by N.\n\n")
	p("| fwd | connections | PSS before | PSS after | per connection |\n|---|---|---|---|---|\n")
	for _, s := range b.specs() {
		r, ok := b.idle[s.Key]
		if !ok {
			continue
		}
		if r.Err != "" {
			p("| %s | %d | | | error: %s |\n", s.Key, r.Conns, r.Err)
			continue
		}
		p("| %s | %d | %d KiB | %d KiB | %.1f KiB |\n", s.Key, r.Conns, r.Before>>10, r.After>>10, r.PerConn/1024)
	}
	p("\n")
}

// methodNotes closes the report.
const methodNotes = `## Method

- Everything runs in a private network namespace (` + "`unshare -n`" + `, loopback up,
  net.ipv4.tcp_max_tw_buckets=4096, ip_local_port_range 1024–65000, tcp_tw_reuse=1).
- CPU per call: utime+stime from /proc/PID/stat of every process of the forwarder
  (Kamailio: the main process and all its descendants), read before the uac starts and
  2 s after it ends (so that exporters' last batches count), divided by the calls that
  completed. The receivers (HEP counter, OTLP/HTTP receiver) run in the benchmark's own
  process and are not counted for the forwarder.
- A forwarder is started fresh for every fixed-rate run and for every ramp; SIPp's uas
  is started fresh for every step. Between steps the benchmark waits at least 3 s, then
  until the whole machine is below 0.3 busy cores over a second (at most 20 s).
- A step passes when SIPp's uac exits with status 0, reports no failed call and completed
  every call it placed (` + "`-recv_timeout 5000`" + `: an answer later than 5 s fails the call).
  The ramp stops at the first step that fails or that SIPp cannot drive at 90% of the
  asked rate (then SIPp or the machine, not the forwarder, is the limit).
- sipwire (a) and (b) differ only in trace_on (sipwire-a.yaml, sipwire-b.yaml); (a0) also
  turns the event history off; (b-tcp) and (b-udp) trace as (b) without OTLP, HEP over
  TCP (one stream to the counter, many packets per write) and over UDP. All relay without Record-Route, like the Kamailio config
  (kamailio.cfg: force_rport(); forward_tcp(); 4 TCP workers; -x fm -m 256 -M 16).
`
