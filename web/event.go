package web

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Event is a network event as the API shows it.
type Event struct {
	// Seq numbers the events of the ring from 1, without gaps; for events of
	// the history store it is the store's own id.
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	ConnID    uint64    `json:"conn_id"`
	Direction string    `json:"direction"`
	Local     string    `json:"local,omitempty"`
	Remote    string    `json:"remote,omitempty"`
	Listener  string    `json:"listener,omitempty"`
	Reason    string    `json:"reason"`
	// Run is, for events of the history store, the start of sipwire that
	// raised the event: connection ids are unique within one run only.
	// Zero (left out) for events of the ring, which are all of this run.
	Run int64 `json:"run,omitempty"`
	// TCP is the kernel's figures of the connection on a CLOSED and the
	// error event before it (transport.Event.TCP).
	TCP *transport.TCPInfo `json:"tcp,omitempty"`
}

func addrString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// EventQuery selects events. Zero fields select everything.
type EventQuery struct {
	// SinceSeq keeps events with a larger Seq (ring only).
	SinceSeq uint64
	// Since and Until keep events at or after Since and before Until.
	Since time.Time
	Until time.Time
	// Kinds keeps events of these kinds (EventKind.String names).
	Kinds []string
	// Status keeps events of this status ("SUCCESS" or "FAILURE").
	Status string
	// ConnID keeps the events of one connection.
	ConnID uint64
	// Run (history only) keeps the events of one run of sipwire (Event.Run);
	// zero keeps every run, except that with ConnID it means the current
	// run, since connection ids are unique within a run only.
	Run int64
	// Addr keeps events whose local, remote or listener address is Addr
	// (ip:port) or whose IP is Addr (ip).
	Addr string
	// CallID and Text are for the history store: events tied to a Call-ID,
	// and events whose reason contains Text.
	CallID string
	Text   string
	// MinRetrans keeps events with the kernel's figures (TCP) and at least
	// this many segments retransmitted over the connection's life.
	MinRetrans uint32
	// Limit bounds the number of events returned.
	Limit int
	// Cursor is a page cursor a previous Query returned (history only).
	Cursor string
}

// historyOnly reports whether q has a filter only the history store
// applies.
func (q *EventQuery) historyOnly() bool {
	return q.CallID != "" || q.Cursor != "" || q.Run != 0
}

// recordFilter is an EventQuery made ready to test ring records: its
// address parsed once.
type recordFilter struct {
	q *EventQuery
	// ap is Addr as ip:port (apOK); ip is Addr as an IP (ipOK).
	ap   netip.AddrPort
	ip   netip.Addr
	apOK bool
	ipOK bool
	text string // Text in lower case
}

func (q *EventQuery) recordFilter() recordFilter {
	f := recordFilter{q: q, text: strings.ToLower(q.Text)}
	if q.Addr != "" {
		ap, err := netip.ParseAddrPort(q.Addr)
		f.ap, f.apOK = ap, err == nil
		ip, err := netip.ParseAddr(strings.Trim(q.Addr, "[]"))
		f.ip, f.ipOK = ip.Unmap(), err == nil
	}
	return f
}

// match reports whether rec, numbered seq, passes the filters of the query
// that the ring applies (all but Limit, Cursor, CallID and Run). The
// caller holds r.mu.
func (f *recordFilter) match(r *EventRing, rec *ringRecord, seq uint64) bool {
	q := f.q
	switch {
	case seq <= q.SinceSeq:
		return false
	case !q.Since.IsZero() && rec.unixNano < q.Since.UnixNano():
		return false
	case !q.Until.IsZero() && rec.unixNano >= q.Until.UnixNano():
		return false
	case len(q.Kinds) > 0 && !slices.Contains(q.Kinds, rec.kind.String()):
		return false
	case q.Status != "" && rec.status.String() != q.Status:
		return false
	case q.ConnID != 0 && rec.connID != q.ConnID:
		return false
	case q.Addr != "" && !f.addrMatch(r, rec.local) && !f.addrMatch(r, rec.remote) && !f.addrMatch(r, rec.listener):
		return false
	case q.Text != "" && !strings.Contains(strings.ToLower(rec.reason), f.text):
		return false
	case q.MinRetrans > 0 && (rec.tcp == nil || rec.tcp.TotalRetrans < q.MinRetrans):
		return false
	}
	return true
}

// addrMatch reports whether a is the query's address (ip:port), or has its
// IP. The caller holds r.mu.
func (f *recordFilter) addrMatch(r *EventRing, a ringAddr) bool {
	if a.fam == 0 || !f.apOK && !f.ipOK {
		return false
	}
	ap := r.addrPort(a)
	return f.apOK && ap == f.ap || f.ipOK && ap.Addr().Unmap() == f.ip
}
