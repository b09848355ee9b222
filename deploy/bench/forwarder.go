package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Forwarder kinds.
const (
	kindSipwire  = "sipwire"
	kindKamailio = "kamailio"
)

// webAddr is where sipwire serves its REST API during the benchmark.
const webAddr = "127.0.0.1:8080"

// forwarderSpec is one forwarder of the comparison.
type forwarderSpec struct {
	Key   string // table key: a, b, c, d, ...
	Title string
	Kind  string // kindSipwire or kindKamailio
	// Config is the file in the benchmark folder: sipwire's YAML or
	// Kamailio's cfg.
	Config string
	// Defines are Kamailio's -A pre-processor defines.
	Defines []string
	// Ramp: look for the highest rate with no failed call, not only the
	// CPU per call.
	Ramp bool
	// Before: run the sipwire of -sipwire-before (key "X:before").
	Before bool
	// Traced: a sipwire forwarder with tracing on, run in the flip phase
	// (flip.go).
	Traced bool
}

// forwarderSpecs are every forwarder the benchmark knows, in table order.
func forwarderSpecs() []forwarderSpec {
	return []forwarderSpec{
		{Key: "a", Title: "sipwire, tracing off (history on)", Kind: kindSipwire, Config: "sipwire-a.yaml", Ramp: true},
		{Key: "a0", Title: "sipwire, tracing off, history off", Kind: kindSipwire, Config: "sipwire-a0.yaml"},
		{Key: "b", Title: "sipwire, tracing on (HEP/UDP + OTLP/HTTP + history)", Kind: kindSipwire, Config: "sipwire-b.yaml", Ramp: true, Traced: true},
		{Key: "b-tcp", Title: "sipwire, tracing on (HEP/TCP + history, no OTLP)", Kind: kindSipwire, Config: "sipwire-b-tcp.yaml", Ramp: true, Traced: true},
		{Key: "b-udp", Title: "sipwire, tracing on (HEP/UDP + history, no OTLP)", Kind: kindSipwire, Config: "sipwire-b-udp.yaml", Traced: true},
		{Key: "c", Title: "Kamailio -x fm, stateless forward()", Kind: kindKamailio, Config: "kamailio.cfg", Ramp: true},
		{Key: "d", Title: "Kamailio -x fm + siptrace HEPv3 (trace_mode 1)", Kind: kindKamailio, Config: "kamailio.cfg", Defines: []string{"WITH_SIPTRACE"}, Ramp: true},
	}
}

// errNotReady reports a forwarder that did not come up.
var errNotReady = errors.New("bench: forwarder did not start")

// forwarder is a running forwarder.
type forwarder struct {
	spec forwarderSpec
	proc *child
	dir  string
}

// startForwarder starts spec with its files in dir and waits until it
// listens on 127.0.0.1:5060.
func (b *bench) startForwarder(spec forwarderSpec, dir string) (*forwarder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Key, err)
	}
	cfg := filepath.Join(b.benchDir, spec.Config)
	var (
		p   *child
		err error
	)
	switch spec.Kind {
	case kindSipwire:
		bin := b.sipwireBin
		if spec.Before {
			bin = b.beforeBin
		}
		p, err = startChild(dir, "sipwire", bin, "-config", cfg,
			"-listen", fmt.Sprintf("tcp:127.0.0.1:%d", forwarderPort), "-web", webAddr,
			"-forward", fmt.Sprintf("sip:127.0.0.1:%d;transport=tcp", uasPort))
	case kindKamailio:
		args := []string{"-f", cfg, "-DD", "-E", "-x", "fm", "-m", "256", "-M", "16",
			"-P", filepath.Join(dir, "kamailio.pid"), "-Y", dir, "-w", dir}
		for _, d := range spec.Defines {
			args = append(args, "-A", d)
		}
		p, err = startChild(dir, "kamailio", b.kamailioBin, args...)
	default:
		return nil, fmt.Errorf("start %s: unknown kind %q", spec.Key, spec.Kind)
	}
	if err != nil {
		return nil, err
	}
	f := &forwarder{spec: spec, proc: p, dir: dir}
	deadline := time.Now().Add(15 * time.Second)
	for !listening(forwarderPort) {
		if p.exited() || time.Now().After(deadline) {
			f.stop()
			return nil, fmt.Errorf("%w: %s: nothing listens on port %d (see %s)", errNotReady, spec.Key, forwarderPort, p.out.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Kamailio forks its workers after it binds; sipwire opens its
	// exporters. Let both settle.
	time.Sleep(time.Second)
	return f, nil
}

// pids are the forwarder's processes now.
func (f *forwarder) pids() []int { return processTree(f.proc.pid()) }

// cpu is the CPU time all the forwarder's processes have used so far.
func (f *forwarder) cpu() time.Duration { return treeCPU(f.pids()) }

// stop ends the forwarder (SIGTERM, SIGKILL after 10 s).
func (f *forwarder) stop() { f.proc.stop(syscall.SIGTERM, 10*time.Second) }

// sipwireStats is the part of sipwire's GET /api/v1/stats the report uses.
type sipwireStats struct {
	Transport struct {
		Accepted      uint64 `json:"accepted"`
		Refused       uint64 `json:"refused"`
		EventsRaised  uint64 `json:"events_raised"`
		Subscriptions []struct {
			Name    string `json:"name"`
			Offered uint64 `json:"offered"`
			Dropped uint64 `json:"dropped"`
		} `json:"subscriptions"`
	} `json:"transport"`
	Exporters struct {
		HEP struct {
			Destinations []struct {
				PacketsSent uint64            `json:"packets_sent"`
				Drops       map[string]uint64 `json:"drops"`
			} `json:"destinations"`
		} `json:"hep"`
		History struct {
			EventsWritten uint64 `json:"events_written"`
			EventsDropped uint64 `json:"events_dropped"`
		} `json:"history"`
		OTel struct {
			SpansExported uint64            `json:"spans_exported"`
			ExportErrors  uint64            `json:"export_errors"`
			Dropped       map[string]uint64 `json:"dropped"`
		} `json:"otel"`
	} `json:"exporters"`
}

// exportCounts are sipwire's exporter counters the report compares.
type exportCounts struct {
	HEPSent        uint64
	HEPDrops       map[string]uint64 // by reason
	SpansExported  uint64
	SpanDrops      map[string]uint64 // by reason
	HistoryWritten uint64
	HistDropped    uint64
	QueueDrops     map[string]uint64 // by subscription: events the transport could not hand over
}

// sub returns c - o.
func (c exportCounts) sub(o exportCounts) exportCounts {
	return exportCounts{
		HEPSent: c.HEPSent - o.HEPSent, HEPDrops: subMap(c.HEPDrops, o.HEPDrops),
		SpansExported: c.SpansExported - o.SpansExported, SpanDrops: subMap(c.SpanDrops, o.SpanDrops),
		HistoryWritten: c.HistoryWritten - o.HistoryWritten, HistDropped: c.HistDropped - o.HistDropped,
		QueueDrops: subMap(c.QueueDrops, o.QueueDrops),
	}
}

// subMap returns the non-zero differences a[k] - b[k].
func subMap(a, b map[string]uint64) map[string]uint64 {
	d := map[string]uint64{}
	for k, v := range a {
		if v > b[k] {
			d[k] = v - b[k]
		}
	}
	return d
}

// counts sums the stats into exportCounts.
func (s sipwireStats) counts() exportCounts {
	c := exportCounts{HEPDrops: map[string]uint64{}, SpanDrops: map[string]uint64{}, QueueDrops: map[string]uint64{}}
	for _, d := range s.Exporters.HEP.Destinations {
		c.HEPSent += d.PacketsSent
		for k, n := range d.Drops {
			c.HEPDrops[k] += n
		}
	}
	c.SpansExported = s.Exporters.OTel.SpansExported
	for k, n := range s.Exporters.OTel.Dropped {
		c.SpanDrops[k] += n
	}
	c.HistoryWritten = s.Exporters.History.EventsWritten
	c.HistDropped = s.Exporters.History.EventsDropped
	for _, sub := range s.Transport.Subscriptions {
		c.QueueDrops[sub.Name] += sub.Dropped
	}
	return c
}

// exportCounts reads sipwire's counters and, when save is not "", writes
// the whole answer there; Kamailio has none (zero, false).
func (f *forwarder) exportCounts(save string) (exportCounts, bool) {
	if f.spec.Kind != kindSipwire {
		return exportCounts{}, false
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + webAddr + "/api/v1/stats")
	if err != nil {
		return exportCounts{}, false
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var s sipwireStats
	if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &s) != nil {
		return exportCounts{}, false
	}
	if save != "" {
		_ = os.WriteFile(save, raw, 0o644)
	}
	return s.counts(), true
}
