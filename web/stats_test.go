package web

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sipwire/sipwire/web/pcap"
)

type hepStats struct {
	Sent      uint64 `json:"sent"`
	Dropped   uint64 `json:"dropped"`
	QueueLen  int    `json:"queue_len"`
	QueueCap  int    `json:"queue_cap"`
	Connected bool   `json:"connected"`
	Errors    []struct {
		Name  string `json:"name"`
		Count uint64 `json:"count"`
	} `json:"errors"`
}

func exporterStats() map[string]any {
	h := hepStats{Sent: 42, Dropped: 3, QueueLen: 5, QueueCap: 8192, Connected: true}
	h.Errors = append(h.Errors, struct {
		Name  string `json:"name"`
		Count uint64 `json:"count"`
	}{"timeout", 2})
	return map[string]any{"hep": h}
}

func TestStats(t *testing.T) {
	ring := pcap.NewRing(0)
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Stats = exporterStats
		d.Pcap = ring
	})
	f.sipClient("s1")
	f.waitEvent(func(e Event) bool { return e.Kind == "ACCEPTED" })
	b := decode[StatsBody](t, f.do(http.MethodGet, "/api/v1/stats", ""))
	if b.Trace != "off" || b.Transport.Accepted != 1 || b.Transport.Open != 1 || b.Transport.MessagesIn != 1 || b.Transport.MessagesOut != 1 {
		t.Errorf("transport stats = %+v", b.Transport)
	}
	if len(b.Transport.Subscriptions) != 0 {
		t.Errorf("subscriptions = %+v, want none (the ring is an observer)", b.Transport.Subscriptions)
	}
	if b.Web.EventRingSize != DefaultEventRingSize || b.Web.EventRingLen != 1 || b.Web.LastSeq != 1 {
		t.Errorf("web stats = %+v", b.Web)
	}
	if b.Pcap == nil || b.Pcap.MaxBytes != pcap.DefaultMaxBytes {
		t.Errorf("pcap stats = %+v", b.Pcap)
	}
	hep, _ := b.Exporters["hep"].(map[string]any)
	if hep["sent"] != 42.0 {
		t.Errorf("exporters = %+v", b.Exporters)
	}
}

// parseExposition parses the text format with Prometheus' own parser and
// returns the samples ("name{labels}" with the labels sorted by name ->
// value text) and the type of each name ("counter", "gauge", ...).
// Histograms give name_bucket{...,le=}, name_sum and name_count samples.
func parseExposition(t *testing.T, body string) (map[string]string, map[string]string) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	samples, types := map[string]string{}, map[string]string{}
	key := func(name string, labels []*dto.LabelPair, extra ...string) string {
		var ls []string
		for _, l := range labels {
			ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
		}
		slices.Sort(ls)
		ls = append(ls, extra...)
		if len(ls) == 0 {
			return name
		}
		return name + "{" + strings.Join(ls, ",") + "}"
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for name, mf := range families {
		types[name] = strings.ToLower(mf.GetType().String())
		if types[name] == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s without _total", name)
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				samples[key(name, m.GetLabel())] = num(m.GetCounter().GetValue())
			case m.Gauge != nil:
				samples[key(name, m.GetLabel())] = num(m.GetGauge().GetValue())
			case m.Histogram != nil:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					samples[key(name+"_bucket", m.GetLabel(), "le="+strconv.Quote(num(b.GetUpperBound())))] = strconv.FormatUint(b.GetCumulativeCount(), 10)
				}
				samples[key(name+"_bucket", m.GetLabel(), `le="+Inf"`)] = strconv.FormatUint(h.GetSampleCount(), 10)
				samples[key(name+"_sum", m.GetLabel())] = num(h.GetSampleSum())
				samples[key(name+"_count", m.GetLabel())] = strconv.FormatUint(h.GetSampleCount(), 10)
			}
		}
	}
	return samples, types
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Stats = exporterStats
		d.Pcap = pcap.NewRing(0)
	})
	f.tr.SetTracing(true)
	f.sipClient("m1")
	f.waitEvent(func(e Event) bool { return e.Kind == "ACCEPTED" })
	w := f.do(http.MethodGet, "/metrics", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8") {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	samples, types := parseExposition(t, w.Body.String())
	want := map[string]string{
		"sipwire_trace_enabled":                               "1",
		"sipwire_tcp_connections_open":                        "1",
		"sipwire_tcp_connections_accepted_total":              "1",
		`sipwire_sip_messages_total{direction="in"}`:          "1",
		`sipwire_sip_messages_total{direction="out"}`:         "1",
		`sipwire_tcp_limit_events_total{limit="bad_message"}`: "0",
		`sipwire_tcp_io_errors_total{op="read"}`:              "0",
		"sipwire_web_event_stream_wakes_total":                "0",
		"sipwire_web_event_ring_capacity":                     "10000",
		"sipwire_pcap_captured_total":                         "2",
		"sipwire_hep_sent_total":                              "42",
		"sipwire_hep_dropped_total":                           "3",
		"sipwire_hep_queue_len":                               "5",
		"sipwire_hep_connected":                               "1",
		`sipwire_hep_errors_count_total{error="timeout"}`:     "2",
	}
	for k, v := range want {
		if samples[k] != v {
			t.Errorf("%s = %q, want %q", k, samples[k], v)
		}
	}
	if types["sipwire_hep_queue_cap"] != "gauge" || types["sipwire_hep_sent_total"] != "counter" {
		t.Errorf("types: %v", types)
	}
}

func TestMetricsFromProvider(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Stats = exporterStats
		d.Metrics = func() []Metric {
			return []Metric{{Name: "sipwire_otel_spans_exported_total", Help: "Spans \"exported\".\nOK", Type: Counter, Value: 7,
				Labels: []Label{{"endpoint", `a"b\c`}}}}
		}
	})
	body := f.do(http.MethodGet, "/metrics", "").Body.String()
	samples, _ := parseExposition(t, body)
	if samples[`sipwire_otel_spans_exported_total{endpoint="a\"b\\c"}`] != "7" {
		t.Errorf("provider sample missing:\n%s", body)
	}
	if _, ok := samples["sipwire_hep_sent_total"]; ok {
		t.Error("Stats flattened although Metrics is set")
	}
	if !strings.Contains(body, `# HELP sipwire_otel_spans_exported_total Spans "exported".\nOK`) {
		t.Error("HELP not escaped")
	}
}

func TestConfigRoute(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Config = func() any { return map[string]any{"web": map[string]string{"token": "[redacted]"}} }
	})
	if w := f.do(http.MethodGet, "/api/v1/config", ""); w.Body.String() != `{"web":{"token":"[redacted]"}}` {
		t.Errorf("config = %d %s", w.Code, w.Body)
	}
	wantError(t, newFixture(t).do(http.MethodGet, "/api/v1/config", ""), http.StatusNotFound, "no configuration")
}

func TestPcapRoute(t *testing.T) {
	ring := pcap.NewRing(0)
	f := newFixture(t, func(_ *Config, d *Deps) { d.Pcap = ring })
	f.tr.SetTracing(true)
	f.sipClient("pcap-1")
	f.sipClient("pcap-2")
	for range 1000 {
		if ring.Stats().Captured == 4 {
			break
		}
		waitABit()
	}
	conns := decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", "")).Connections
	count := func(query string) int {
		t.Helper()
		w := f.do(http.MethodGet, "/api/v1/pcap"+query, "")
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
			!strings.HasPrefix(w.Header().Get("Content-Disposition"), `attachment; filename="sipwire-`) {
			t.Fatalf("GET /pcap%s = %d %v", query, w.Code, w.Header())
		}
		r, err := pcapgo.NewReader(bytes.NewReader(w.Body.Bytes()))
		if err != nil || r.LinkType() != layers.LinkTypeEthernet {
			t.Fatalf("pcap: %v", err)
		}
		n, syns := 0, 0
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			tcp, _ := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
			switch {
			case tcp == nil:
				t.Fatal("a packet without TCP")
			case len(tcp.Payload) > 0:
				n++
			case tcp.SYN && !tcp.ACK:
				syns++
			}
		}
		if h := w.Header().Get("X-Sipwire-Messages"); h != strconvI(n) {
			t.Errorf("X-Sipwire-Messages %s for %d messages", h, n)
		}
		if syns != n/2 {
			t.Errorf("%d SYNs for %d connections", syns, n/2)
		}
		return n
	}
	if n := count(""); n != 4 {
		t.Errorf("all: %d packets, want 4", n)
	}
	if n := count("?conn=" + strconvU(conns[0].ID)); n != 2 {
		t.Errorf("one conn: %d packets, want 2", n)
	}
	if n := count("?since=1h"); n != 4 {
		t.Errorf("since 1h: %d packets", n)
	}
	if n := count("?since=2999-01-01T00:00:00Z"); n != 0 {
		t.Errorf("since the future: %d packets", n)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/pcap?conn=x", ""), http.StatusBadRequest, "conn")
	wantError(t, f.do(http.MethodGet, "/api/v1/pcap?since=-5m", ""), http.StatusBadRequest, "since")
	wantError(t, newFixture(t).do(http.MethodGet, "/api/v1/pcap", ""), http.StatusNotFound, "not enabled")
}
