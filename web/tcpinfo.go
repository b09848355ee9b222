package web

import (
	"github.com/sipwire/sipwire/transport"
)

// HistogramSample is one Prometheus histogram: cumulative counts of the
// values at most each upper bound, and the count and sum of all.
type HistogramSample struct {
	Bounds  []float64
	Buckets []uint64 // Buckets[i] counts the values <= Bounds[i]
	Count   uint64
	Sum     float64
}

// tcpMetrics are the transport's histograms of the kernel's figures at
// close (transport.Stats.TCPHistograms), by listener and direction, and the
// counters of TCP_INFO readings.
func tcpMetrics(t *transport.Stats) []Metric {
	ms := []Metric{
		{Name: "sipwire_tcp_info_reads_total", Help: "TCP_INFO readings: at close, on demand and by the sampler.", Type: Counter, Value: float64(t.TCPInfoReads)},
		{Name: "sipwire_tcp_info_errors_total", Help: "TCP_INFO readings the kernel refused.", Type: Counter, Value: float64(t.TCPInfoErrors)},
		{Name: "sipwire_tcp_info_deferred_total", Help: "Connections a TCP_INFO sampler tick left to a later tick (tcp_info_per_tick).", Type: Counter, Value: float64(t.TCPInfoDeferred)},
	}
	rttHelp := "Smoothed RTT (TCP_INFO) of each connection when it closed, by listener and direction."
	retransHelp := "Segments retransmitted over each connection's life (TCP_INFO total_retrans) when it closed, by listener and direction."
	for _, h := range t.TCPHistograms {
		listener := ""
		if h.Listener.IsValid() {
			listener = h.Listener.String()
		}
		labels := []Label{{"listener", listener}, {"direction", h.Direction}}
		rtt := &HistogramSample{Count: h.Count, Sum: float64(h.RTT.Sum) / 1e6}
		for i, b := range h.RTT.Bounds {
			rtt.Bounds = append(rtt.Bounds, float64(b)/1e6)
			rtt.Buckets = append(rtt.Buckets, h.RTT.Buckets[i])
		}
		retrans := &HistogramSample{Count: h.Count, Sum: float64(h.Retrans.Sum)}
		for i, b := range h.Retrans.Bounds {
			retrans.Bounds = append(retrans.Bounds, float64(b))
			retrans.Buckets = append(retrans.Buckets, h.Retrans.Buckets[i])
		}
		ms = append(ms,
			Metric{Name: "sipwire_tcp_rtt_seconds", Help: rttHelp, Type: Histogram, Labels: labels, Hist: rtt},
			Metric{Name: "sipwire_tcp_retransmitted_segments", Help: retransHelp, Type: Histogram, Labels: labels, Hist: retrans},
		)
		rttHelp, retransHelp = "", ""
	}
	return ms
}

// freshTCPInfo puts the kernel's figures of an open connection, read now,
// into its row for GET /connections/{id}; a connection that cannot be read
// (closing, connecting) keeps its last figures.
func (s *Server) freshTCPInfo(cs *transport.ConnSnapshot) {
	if ti, err := s.deps.Transport.ConnTCPInfo(cs.ID); err == nil {
		cs.TCP, cs.TCPConcern = ti, ti.Concern()
	}
}
