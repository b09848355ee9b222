package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// getMetrics is GET /metrics: the registry's samples in the format the
// scraper asks for (the Prometheus text format by default, OpenMetrics on
// request), through client_golang.
func (s *Server) getMetrics(c *gin.Context) error {
	s.metrics.ServeHTTP(c.Writer, c.Request)
	return nil
}

// newMetricsHandler returns the /metrics handler of a registry that holds
// the Go runtime's, the process's and the build's collectors beside
// sipwire's own samples (sipwireCollector).
func (s *Server) newMetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		sipwireCollector{s},
	)
	s.registry = reg
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogPromLogger{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Registry is the registry /metrics serves (for linting and tests).
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// slogPromLogger hands promhttp's errors to the server's log.
type slogPromLogger struct{ log *slog.Logger }

func (l slogPromLogger) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }

// samples are sipwire's own samples: the transport's, the web server's, the
// pcap ring's and the exporters' (Deps.Metrics, or Deps.Stats flattened).
func (s *Server) samples() []Metric {
	st := s.stats()
	ms := s.transportMetrics(&st)
	ms = append(ms, tcpMetrics(&st.Transport)...)
	if s.deps.Metrics != nil {
		return append(ms, s.deps.Metrics()...)
	}
	names := make([]string, 0, len(st.Exporters))
	for name := range st.Exporters {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ms = append(ms, FlattenMetrics("sipwire_"+name, st.Exporters[name])...)
	}
	return ms
}

// sipwireCollector collects Server.samples. It is unchecked (Describe sends
// nothing): the exporters' samples follow their stats, which vary with the
// configuration. The samples of one name share the first one's help and
// type and the union of their label names (a label a sample lacks is
// empty, which Prometheus reads as absent).
type sipwireCollector struct{ s *Server }

func (sipwireCollector) Describe(chan<- *prometheus.Desc) {}

func (c sipwireCollector) Collect(ch chan<- prometheus.Metric) {
	ms := c.s.samples()
	type group struct {
		help   string
		typ    MetricType
		labels []string
		ms     []*Metric
	}
	groups := map[string]*group{}
	var order []string
	for i := range ms {
		m := &ms[i]
		g := groups[m.Name]
		if g == nil {
			g = &group{help: m.Help, typ: m.Type}
			groups[m.Name] = g
			order = append(order, m.Name)
		}
		if g.help == "" {
			g.help = m.Help
		}
		for _, l := range m.Labels {
			if !slices.Contains(g.labels, l.Name) {
				g.labels = append(g.labels, l.Name)
			}
		}
		g.ms = append(g.ms, m)
	}
	for _, name := range order {
		g := groups[name]
		desc := prometheus.NewDesc(name, g.help, g.labels, nil)
		vt := prometheus.GaugeValue
		if g.typ == Counter {
			vt = prometheus.CounterValue
		}
		for _, m := range g.ms {
			values := make([]string, len(g.labels))
			for _, l := range m.Labels {
				values[slices.Index(g.labels, l.Name)] = l.Value
			}
			var pm prometheus.Metric
			var err error
			if g.typ == Histogram && m.Hist != nil {
				h := m.Hist
				buckets := make(map[float64]uint64, len(h.Bounds))
				for i, b := range h.Bounds {
					buckets[b] = h.Buckets[i]
				}
				pm, err = prometheus.NewConstHistogram(desc, h.Count, h.Sum, buckets, values...)
			} else {
				pm, err = prometheus.NewConstMetric(desc, vt, m.Value, values...)
			}
			if err != nil {
				ch <- prometheus.NewInvalidMetric(desc, err)
				continue
			}
			ch <- pm
		}
	}
}

func (s *Server) transportMetrics(st *StatsBody) []Metric {
	t := &st.Transport
	trace := 0.0
	if st.Trace == "on" {
		trace = 1
	}
	c := func(name, help string, v uint64, labels ...Label) Metric {
		return Metric{Name: name, Help: help, Type: Counter, Value: float64(v), Labels: labels}
	}
	g := func(name, help string, v float64, labels ...Label) Metric {
		return Metric{Name: name, Help: help, Type: Gauge, Value: v, Labels: labels}
	}
	limit := func(l string, v uint64) Metric {
		return c("sipwire_tcp_limit_events_total", "Connections closed by a limit or a framing error, by limit.", v, Label{"limit", l})
	}
	ms := []Metric{
		g("sipwire_trace_enabled", "Whether tracing (trace_on) is on.", trace),
		g("sipwire_tcp_connections_open", "Open TCP connections.", float64(t.Open)),
		c("sipwire_tcp_connections_accepted_total", "Inbound TCP connections accepted.", t.Accepted),
		c("sipwire_tcp_connections_refused_total", "Inbound TCP connections refused over tcp_max_connections.", t.Refused),
		c("sipwire_tcp_connects_total", "Outbound TCP connects started.", t.Connects),
		c("sipwire_tcp_connect_failures_total", "Outbound TCP connects that failed.", t.ConnectFailures),
		c("sipwire_tcp_connections_closed_total", "TCP connections closed.", t.Closed),
		c("sipwire_sip_messages_total", "SIP messages framed or written, by direction.", t.MessagesIn, Label{"direction", "in"}),
		c("sipwire_sip_messages_total", "", t.MessagesOut, Label{"direction", "out"}),
		c("sipwire_tcp_bytes_total", "Bytes read or written on TCP connections, by direction.", t.BytesIn, Label{"direction", "in"}),
		c("sipwire_tcp_bytes_total", "", t.BytesOut, Label{"direction", "out"}),
		c("sipwire_tcp_held_writes_total", "Writes carrying the relayed messages one read batch held for a connection.", t.HeldWrites),
		c("sipwire_sip_messages_held_total", "Relayed messages held for the end of their read batch and written together.", t.HeldMessages),
		c("sipwire_tcp_crlf_pings_total", "CRLFCRLF keep-alive pings received.", t.Pings),
		c("sipwire_tcp_crlf_pongs_total", "CRLF pongs sent.", t.Pongs),
		c("sipwire_tcp_lone_crlfs_total", "Lone CRLF keep-alives received.", t.LoneCRLFs),
		limit("bad_message", t.BadMessages),
		limit("too_large", t.TooLarge),
		limit("chunk_limit", t.ChunkLimits),
		limit("message_timeout", t.MessageTimeouts),
		limit("write_queue_full", t.QueueFull),
		limit("write_timeout", t.WriteTimeouts),
		limit("idle_timeout", t.IdleTimeouts),
		c("sipwire_tcp_io_errors_total", "Read and write errors on TCP connections, by operation.", t.ReadErrors, Label{"op", "read"}),
		c("sipwire_tcp_io_errors_total", "", t.WriteErrors, Label{"op", "write"}),
		c("sipwire_events_raised_total", "Network events raised by the transport.", t.EventsRaised),
	}
	for _, sub := range t.Subscriptions {
		l := []Label{{"subscription", sub.Name}, {"gate", sub.Gate}}
		ms = append(ms,
			c("sipwire_event_subscription_offered_total", "Events that passed a subscription's gate.", sub.Offered, l...),
			c("sipwire_event_subscription_dropped_total", "Events a full subscription queue dropped.", sub.Dropped, l...),
			g("sipwire_event_subscription_queue_length", "Events waiting in a subscription queue.", float64(sub.QueueLen), l...),
			g("sipwire_event_subscription_queue_capacity", "Bound of a subscription queue.", float64(sub.QueueCap), l...),
		)
	}
	ms = append(ms,
		g("sipwire_web_event_ring_events", "Events held by the web event ring.", float64(st.Web.EventRingLen)),
		g("sipwire_web_event_ring_capacity", "Bound of the web event ring.", float64(st.Web.EventRingSize)),
		c("sipwire_web_event_ring_zones_dropped_total", "IPv6 addresses the web event ring kept without their zone (over 255 zones).", st.Web.EventRingZonesDropped),
		g("sipwire_web_event_streams", "Open event streams (SSE).", float64(st.Web.StreamClients)),
		g("sipwire_web_event_streams_max", "Bound of the open event streams (web.max_event_streams).", float64(st.Web.MaxStreams)),
		c("sipwire_web_event_streams_refused_total", "Event streams refused over web.max_event_streams.", st.Web.StreamsRefused),
		c("sipwire_web_event_stream_write_timeouts_total", "Event streams dropped because a write did not go out in time.", st.Web.StreamWriteTimeouts),
		c("sipwire_web_event_stream_wakes_total", "Times an event stream woke for new events (then rested 50 ms to let a burst gather).", st.Web.StreamWakes),
		c("sipwire_web_requests_refused_total", "Requests refused by the web guard, by reason.", st.Web.Refused.Host, Label{"reason", "host"}),
		c("sipwire_web_requests_refused_total", "", st.Web.Refused.Origin, Label{"reason", "origin"}),
		c("sipwire_web_requests_refused_total", "", st.Web.Refused.Simple, Label{"reason", "simple"}),
		c("sipwire_web_requests_refused_total", "", st.Web.Refused.Token, Label{"reason", "token"}),
	)
	if p := st.Pcap; p != nil {
		ms = append(ms,
			g("sipwire_pcap_ring_messages", "Traced SIP messages held for pcap export.", float64(p.Messages)),
			g("sipwire_pcap_ring_bytes", "Bytes of the traced SIP messages held for pcap export.", float64(p.Bytes)),
			g("sipwire_pcap_ring_max_bytes", "Bound of the pcap ring.", float64(p.MaxBytes)),
			c("sipwire_pcap_captured_total", "Traced SIP messages kept by the pcap ring.", p.Captured),
			c("sipwire_pcap_evicted_total", "Traced SIP messages pushed out of the pcap ring by newer ones.", p.Evicted),
			c("sipwire_pcap_too_large_total", "Traced SIP messages larger than the pcap ring, never kept.", p.TooLarge),
		)
	}
	return ms
}
