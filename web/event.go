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

// EventFromTransport converts a transport event; Seq is left zero.
func EventFromTransport(e *transport.Event) Event {
	return Event{
		Time:      e.Time,
		Kind:      e.Kind.String(),
		Status:    e.Status.String(),
		ConnID:    e.ConnID,
		Direction: e.Direction.String(),
		Local:     addrString(e.Local),
		Remote:    addrString(e.Remote),
		Listener:  addrString(e.Listener),
		Reason:    e.Reason,
		TCP:       e.TCP,
	}
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

// match reports whether e passes the filters of q that the ring applies
// (all but Limit, Cursor, CallID and Run).
func (q *EventQuery) match(e *Event) bool {
	switch {
	case e.Seq <= q.SinceSeq:
		return false
	case !q.Since.IsZero() && e.Time.Before(q.Since):
		return false
	case !q.Until.IsZero() && !e.Time.Before(q.Until):
		return false
	case len(q.Kinds) > 0 && !slices.Contains(q.Kinds, e.Kind):
		return false
	case q.Status != "" && e.Status != q.Status:
		return false
	case q.ConnID != 0 && e.ConnID != q.ConnID:
		return false
	case q.Addr != "" && !addrMatch(q.Addr, e.Local) && !addrMatch(q.Addr, e.Remote) && !addrMatch(q.Addr, e.Listener):
		return false
	case q.Text != "" && !strings.Contains(strings.ToLower(e.Reason), strings.ToLower(q.Text)):
		return false
	case q.MinRetrans > 0 && (e.TCP == nil || e.TCP.TotalRetrans < q.MinRetrans):
		return false
	}
	return true
}

// addrMatch reports whether the address s (ip:port) is want, or has the IP want.
func addrMatch(want, s string) bool {
	if s == "" {
		return false
	}
	if s == want {
		return true
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(strings.Trim(want, "[]"))
	return err == nil && ap.Addr().Unmap() == ip.Unmap()
}
