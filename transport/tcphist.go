package transport

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
)

// The bucket bounds of the histograms of the figures at close
// (TCPHistogram): round-trip times in microseconds, and segments
// retransmitted over a connection's life.
const (
	numRTTBuckets     = 12
	numRetransBuckets = 8
)

// rttBounds and retransBounds are the upper bounds of the buckets.
func rttBounds() [numRTTBuckets]uint32 {
	return [...]uint32{100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000}
}

func retransBounds() [numRetransBuckets]uint32 {
	return [...]uint32{0, 1, 2, 5, 10, 20, 50, 100}
}

// TCPHistogram is the distribution of the kernel's last figures of the
// connections that closed, for one listener and direction: the smoothed
// RTT and the segments retransmitted over each connection's life, one
// observation per connection that had figures at close.
type TCPHistogram struct {
	// Listener is the listener of inbound connections; zero for
	// outbound ones.
	Listener  netip.AddrPort `json:"listener"`
	Direction string         `json:"direction"`
	// Count is the connections observed.
	Count uint64 `json:"count"`
	// RTT: Buckets[i] counts RTTs of at most Bounds[i] µs (cumulative, as
	// Prometheus counts); Sum is the sum of all in µs.
	RTT HistogramCounts `json:"rtt_us"`
	// Retrans: the same for TCPInfo.TotalRetrans.
	Retrans HistogramCounts `json:"retrans"`
}

// HistogramCounts are cumulative bucket counts and the sum of the values.
type HistogramCounts struct {
	Bounds  []uint32 `json:"bounds"`
	Buckets []uint64 `json:"buckets"`
	Sum     uint64   `json:"sum"`
}

type histKey struct {
	listener netip.AddrPort
	dir      Direction
}

type tcpHist struct {
	count      uint64
	rtt        [numRTTBuckets]uint64
	rttSum     uint64
	retrans    [numRetransBuckets]uint64
	retransSum uint64
}

// tcpHists are the histograms by listener and direction: a few entries
// (listeners × 2), bounded by the listeners served.
type tcpHists struct {
	mu sync.Mutex
	m  map[histKey]*tcpHist
}

// observe adds one connection's figures at close.
func (h *tcpHists) observe(listener netip.AddrPort, dir Direction, ti *TCPInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := histKey{listener, dir}
	e := h.m[k]
	if e == nil {
		if h.m == nil {
			h.m = make(map[histKey]*tcpHist)
		}
		e = new(tcpHist)
		h.m[k] = e
	}
	e.count++
	for i, b := range rttBounds() {
		if ti.RTT <= b {
			e.rtt[i]++
		}
	}
	e.rttSum += uint64(ti.RTT)
	for i, b := range retransBounds() {
		if ti.TotalRetrans <= b {
			e.retrans[i]++
		}
	}
	e.retransSum += uint64(ti.TotalRetrans)
}

// snapshot returns the histograms, inbound by listener first, then outbound.
func (h *tcpHists) snapshot() []TCPHistogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]TCPHistogram, 0, len(h.m))
	rb, xb := rttBounds(), retransBounds()
	for k, e := range h.m {
		out = append(out, TCPHistogram{
			Listener: k.listener, Direction: k.dir.String(), Count: e.count,
			RTT:     HistogramCounts{Bounds: rb[:], Buckets: slices.Clone(e.rtt[:]), Sum: e.rttSum},
			Retrans: HistogramCounts{Bounds: xb[:], Buckets: slices.Clone(e.retrans[:]), Sum: e.retransSum},
		})
	}
	slices.SortFunc(out, func(a, b TCPHistogram) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), a.Listener.Compare(b.Listener))
	})
	return out
}
