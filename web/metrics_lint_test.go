package web

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sipwire/sipwire/web/pcap"
)

// TestMetricsLint runs the client library's linter (promlint, as promtool
// check metrics does) over everything /metrics serves: the Go runtime's,
// the process's and the build's collectors, and sipwire's own samples.
func TestMetricsLint(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) { d.Pcap = pcap.NewRing(0) })
	f.sipClient("lint")
	problems, err := testutil.GatherAndLint(f.srv.registry)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(f.srv.registry, "go_goroutines", "process_resident_memory_bytes", "go_build_info")
	if err != nil || n != 3 {
		t.Errorf("runtime, process and build-info collectors: %d of 3 samples, %v", n, err)
	}
}
