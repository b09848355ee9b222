package web

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sipwire/sipwire/web/history"
)

func TestFlattenMetricsTypes(t *testing.T) {
	v := map[string]any{
		"queue_bytes": 10, "queue_bytes_cap": 20, "queue_len": 1, "drops_not_connected": 2, "bytes_sent": 3,
		"connected": true, "enabled": false, "max_size": 4, "reconnects": 5, "events": 6, "open": 7,
		"destinations": []map[string]any{{"name": "homer", "sent_total": 8}},
		"peers":        []map[string]any{{"errors": 1}, {"errors": 2}},
	}
	want := map[string]string{
		"sipwire_x_queue_bytes":               "gauge",
		"sipwire_x_queue_bytes_cap":           "gauge",
		"sipwire_x_queue_len":                 "gauge",
		"sipwire_x_drops_not_connected_total": "counter",
		"sipwire_x_bytes_sent_total":          "counter",
		"sipwire_x_connected":                 "gauge",
		"sipwire_x_enabled":                   "gauge",
		"sipwire_x_max_size":                  "gauge",
		"sipwire_x_reconnects_total":          "counter",
		"sipwire_x_events_total":              "counter",
		"sipwire_x_open":                      "gauge",
		"sipwire_x_destinations_sent_total":   "counter",
		"sipwire_x_peers_errors_total":        "counter",
	}
	got := map[string]string{}
	for _, m := range FlattenMetrics("sipwire_x", v) {
		got[m.Name] = string(m.Type)
		switch m.Name {
		case "sipwire_x_destinations_sent_total":
			if len(m.Labels) != 1 || m.Labels[0] != (Label{"destination", "homer"}) {
				t.Errorf("labels %v", m.Labels)
			}
		case "sipwire_x_peers_errors_total":
			if len(m.Labels) != 1 || m.Labels[0].Name != "peer" {
				t.Errorf("labels %v", m.Labels)
			}
		}
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("%s: %q, want %q", name, got[name], typ)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	if FlattenMetrics("x", func() {}) != nil {
		t.Error("an unmarshalable value gave samples")
	}
}

func TestFlattenMetricsNestedPaths(t *testing.T) {
	v := map[string]any{
		"drops":            map[string]any{"not_connected": 1, "queue_full": 2},
		"queue":            map[string]any{"bytes": 3},
		"open_connections": 4,
	}
	want := map[string]MetricType{
		"x_drops_not_connected_total": Counter,
		"x_drops_queue_full_total":    Counter,
		"x_queue_bytes":               Gauge,
		"x_open_connections":          Gauge,
	}
	ms := FlattenMetrics("x", v)
	if len(ms) != len(want) {
		t.Fatalf("samples %+v", ms)
	}
	for _, m := range ms {
		if want[m.Name] != m.Type {
			t.Errorf("%s is %s", m.Name, m.Type)
		}
	}
}

// TestFlattenMetricsHistoryStats checks the names and types /metrics gives
// the stats of a real history store.
func TestFlattenMetricsHistoryStats(t *testing.T) {
	dir := t.TempDir()
	earlierRun(t, dir, run1Events()...)
	st, err := history.Open(context.Background(), historyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	want := map[string]MetricType{
		"sipwire_history_enabled":                        Gauge,
		"sipwire_history_run":                            Gauge,
		"sipwire_history_events_stored":                  Gauge,
		"sipwire_history_events_written_total":           Counter,
		"sipwire_history_events_dropped_total":           Counter,
		"sipwire_history_events_failed_total":            Counter,
		"sipwire_history_events_expired_total":           Counter,
		"sipwire_history_queue_depth":                    Gauge,
		"sipwire_history_queue_cap":                      Gauge,
		"sipwire_history_callids_written_total":          Counter,
		"sipwire_history_callids_dropped_total":          Counter,
		"sipwire_history_size_bytes":                     Gauge,
		"sipwire_history_oldest_event_timestamp_seconds": Gauge,
		"sipwire_history_batches_total":                  Counter,
		"sipwire_history_up":                             Gauge,
		"sipwire_history_outages_total":                  Counter,
		"sipwire_history_state_since_timestamp_seconds":  Gauge,
		"sipwire_history_arrays_let_go_total":            Counter,
	}
	got := map[string]Metric{}
	for _, m := range FlattenMetrics("sipwire_history", st.Stats()) {
		got[m.Name] = m
	}
	for name, typ := range want {
		if m, ok := got[name]; !ok || m.Type != typ {
			t.Errorf("%s: %+v, want type %s", name, m, typ)
		}
	}
	if len(got) != len(want) {
		t.Errorf("samples %v", got)
	}
	if v := got["sipwire_history_events_stored"].Value; v != 2 {
		t.Errorf("events stored %v, want 2", v)
	}
	if v := got["sipwire_history_oldest_event_timestamp_seconds"].Value; v != float64(run1Time.Unix()) {
		t.Errorf("oldest event %v, want %d", v, run1Time.Unix())
	}
	if v := got["sipwire_history_size_bytes"].Value; v <= 0 {
		t.Errorf("size %v", v)
	}

	// A store that could not be opened says so.
	enabled := 1.0
	for _, m := range FlattenMetrics("sipwire_history", history.Disabled(errors.New("disk full")).Stats()) {
		if m.Name == "sipwire_history_enabled" {
			enabled = m.Value
		}
	}
	if enabled != 0 {
		t.Errorf("a disabled store's sipwire_history_enabled is %v", enabled)
	}
}

func TestFlattenMetricsTimes(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 500_000_000, time.UTC)
	ms := FlattenMetrics("x", map[string]any{"last_error_time": at, "oldest": at, "path": "/var/lib/x.db"})
	want := map[string]float64{"x_last_error_time_seconds": 1748779200.5, "x_oldest_timestamp_seconds": 1748779200.5}
	if len(ms) != len(want) {
		t.Fatalf("samples %+v", ms)
	}
	for _, m := range ms {
		if w, ok := want[m.Name]; !ok || m.Value != w || m.Type != Gauge {
			t.Errorf("%+v", m)
		}
	}
}
