package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fill adds n events to the ring: kinds cycle ACCEPTED, CLOSED; event i is at
// t0+i s, conn i, remote 127.0.0.1:(40000+i).
func fill(r *EventRing, n int) {
	for i := 1; i <= n; i++ {
		kind := transport.EventAccepted
		if i%2 == 0 {
			kind = transport.EventClosed
		}
		r.Add(&transport.Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: kind, Status: transport.StatusSuccess, ConnID: uint64(i),
			Direction: transport.Inbound, Local: netip.MustParseAddrPort("127.0.0.1:5060"),
			Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+i)), Reason: "r"})
	}
}

func seqs(events []Event) []uint64 {
	var s []uint64
	for _, e := range events {
		s = append(s, e.Seq)
	}
	return s
}

func TestEventRingBoundAndOrder(t *testing.T) {
	r := NewEventRing(5)
	fill(r, 12)
	p := r.Query(EventQuery{})
	if !slices.Equal(seqs(p.Events), []uint64{8, 9, 10, 11, 12}) || p.Oldest != 8 || p.Last != 12 || p.More {
		t.Fatalf("page = %+v", p)
	}
	if r.Len() != 5 || r.Cap() != 5 || r.LastSeq() != 12 {
		t.Errorf("len %d cap %d last %d", r.Len(), r.Cap(), r.LastSeq())
	}
	p = r.Query(EventQuery{SinceSeq: 9, Limit: 2})
	if !slices.Equal(seqs(p.Events), []uint64{10, 11}) || !p.More {
		t.Errorf("forward page = %v more %v", seqs(p.Events), p.More)
	}
	p = r.Query(EventQuery{Limit: 2})
	if !slices.Equal(seqs(p.Events), []uint64{11, 12}) || !p.More {
		t.Errorf("latest page = %v more %v", seqs(p.Events), p.More)
	}
}

func TestEventRingWaitWakes(t *testing.T) {
	r := NewEventRing(4)
	fill(r, 1)
	select {
	case <-r.Wait(0):
	default:
		t.Fatal("Wait(0) with an event held must be ready")
	}
	w := r.Wait(1)
	select {
	case <-w:
		t.Fatal("Wait(1) ready before a new event")
	default:
	}
	fill(r, 1)
	select {
	case <-w:
	case <-time.After(10 * time.Second):
		t.Fatal("Add did not wake the waiter")
	}
}

func TestEventsQueryParameters(t *testing.T) {
	f := newFixture(t)
	fill(f.srv.Ring(), 10)
	tests := []struct {
		query string
		want  []uint64
		more  bool
		next  uint64
	}{
		{"", []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false, 10},
		{"limit=3", []uint64{8, 9, 10}, true, 10},
		{"since=4&limit=3", []uint64{5, 6, 7}, true, 7},
		{"since=7", []uint64{8, 9, 10}, false, 10},
		{"since=10", nil, false, 10},
		{"since=" + url.QueryEscape(t0.Add(9*time.Second).Format(time.RFC3339)), []uint64{9, 10}, false, 10},
		{"kind=CLOSED&limit=2", []uint64{8, 10}, true, 10},
		{"kind=closed,accepted&since=8", []uint64{9, 10}, false, 10},
		{"kind=ACCEPTED&kind=CLOSED&since=9", []uint64{10}, false, 10},
		{"addr=127.0.0.1:40003", []uint64{3}, false, 10},
		{"addr=127.0.0.1&limit=1", []uint64{10}, true, 10},
		{"addr=127.0.0.1:5060&since=9", []uint64{10}, false, 10},
		{"addr=::1", nil, false, 10},
		{"conn=4", []uint64{4}, false, 10},
		{"status=FAILURE", nil, false, 10},
		{"until=" + url.QueryEscape(t0.Add(3*time.Second).Format(time.RFC3339)), []uint64{1, 2}, false, 10},
		{"text=R&limit=1", []uint64{10}, true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := f.do(http.MethodGet, "/api/v1/events?"+tt.query, "")
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			b := decode[eventsBody](t, w)
			if !slices.Equal(seqs(b.Events), tt.want) || b.More != tt.more || b.NextSince != tt.next || b.Source != "ring" {
				t.Errorf("got %v more %v next %d source %s; want %v more %v next %d", seqs(b.Events), b.More, b.NextSince, b.Source, tt.want, tt.more, tt.next)
			}
			if b.OldestSeq != 1 || b.LastSeq != 10 {
				t.Errorf("oldest %d last %d", b.OldestSeq, b.LastSeq)
			}
		})
	}
}

func TestEventsBadParameters(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ query, says string }{
		{"since=yesterday", "since"},
		{"until=1", "until"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=x", "limit"},
		{"kind=OPENED", "unknown kind"},
		{"status=OK", "status"},
		{"conn=x", "conn"},
		{"addr=host.example", "addr"},
		{"source=disk", "source"},
		{"source=ring&call_id=abc", "source=history"},
		{"source=ring&run=2", "source=history"},
		{"run=0", "run"},
		{"run=x", "run"},
		{"since=2025-06-02T00:00:00Z&until=2025-06-01T00:00:00Z", "before"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantError(t, f.do(http.MethodGet, "/api/v1/events?"+tt.query, ""), http.StatusBadRequest, tt.says)
		})
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/events?source=history", ""), http.StatusNotFound, "not enabled")
	wantError(t, f.do(http.MethodGet, "/api/v1/events?call_id=x", ""), http.StatusNotFound, "not enabled")
	wantError(t, f.do(http.MethodGet, "/api/v1/events?run=1", ""), http.StatusNotFound, "not enabled")
	wantError(t, f.do(http.MethodGet, "/api/v1/events/export?format=csv", ""), http.StatusNotFound, "not enabled")
}

// store is an EventStore that records the query it got: the parsing of
// every parameter is checked here, the real store in history_test.go.
type store struct {
	got    EventQuery
	events []Event
	next   string
	err    error
	// exportErr is what Export returns after writing the events.
	exportErr error
}

func (s *store) Query(_ context.Context, q EventQuery) ([]Event, string, error) {
	s.got = q
	return s.events, s.next, s.err
}

func (s *store) Export(_ context.Context, q EventQuery, _ string, w io.Writer) error {
	s.got = q
	if s.err != nil {
		return s.err
	}
	for _, e := range s.events {
		if _, err := fmt.Fprintf(w, "%d\n", e.Seq); err != nil {
			return err
		}
	}
	return s.exportErr
}

func (s *store) ContentType(format string) string {
	if format == ExportJSONL || format == ExportCSV {
		return "text/" + format
	}
	return ""
}

func TestEventsFromHistory(t *testing.T) {
	st := &store{events: []Event{{Seq: 77, Kind: "CLOSED", Reason: "EOF received"}}, next: "c2"}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Events = st })
	since := t0.Format(time.RFC3339)
	w := f.do(http.MethodGet, "/api/v1/events?call_id=abc&since="+since+"&kind=CLOSED&addr=10.0.0.1&text=eof&limit=5&cursor=c1&conn=9&run=3&status=SUCCESS", "")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	b := decode[eventsBody](t, w)
	if b.Source != "history" || len(b.Events) != 1 || b.Events[0].Seq != 77 || b.NextCursor != "c2" || !b.More {
		t.Errorf("body = %+v", b)
	}
	want := EventQuery{Since: t0, Kinds: []string{"CLOSED"}, Status: "SUCCESS", ConnID: 9, Run: 3, Addr: "10.0.0.1", CallID: "abc", Text: "eof", Limit: 5, Cursor: "c1"}
	if fmt.Sprint(st.got) != fmt.Sprint(want) {
		t.Errorf("query\n got %+v\nwant %+v", st.got, want)
	}
	// source=ring stays the default without history-only filters.
	if b := decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events", "")); b.Source != "ring" {
		t.Errorf("default source %s", b.Source)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/events?source=history&since=5", ""), http.StatusBadRequest, "RFC 3339")
	st.err = errors.New("database is locked")
	wantError(t, f.do(http.MethodGet, "/api/v1/events?source=history", ""), http.StatusServiceUnavailable, "database is locked")
	st.err = fmt.Errorf("%w: cursor is not ours", ErrBadEventQuery)
	wantError(t, f.do(http.MethodGet, "/api/v1/events?cursor=zz", ""), http.StatusBadRequest, "cursor is not ours")
}

func TestEventsExportParameters(t *testing.T) {
	st := &store{events: []Event{{Seq: 5}, {Seq: 4}}}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Events = st })
	w := f.do(http.MethodGet, "/api/v1/events/export?format=csv&kind=CLOSED&conn=9&run=2&text=eof&limit=0&until="+url.QueryEscape(t0.Format(time.RFC3339)), "")
	if w.Code != 200 || w.Body.String() != "5\n4\n" || w.Header().Get("Content-Type") != "text/csv" {
		t.Fatalf("%d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	want := EventQuery{Until: t0, Kinds: []string{"CLOSED"}, ConnID: 9, Run: 2, Text: "eof"}
	if fmt.Sprint(st.got) != fmt.Sprint(want) {
		t.Errorf("query\n got %+v\nwant %+v", st.got, want)
	}
	if w := f.do(http.MethodGet, "/api/v1/events/export?limit=2500", ""); w.Code != 200 || st.got.Limit != 2500 || w.Header().Get("Content-Type") != "text/jsonl" {
		t.Errorf("limit=2500 (no page bound on exports): %d limit %d type %q", w.Code, st.got.Limit, w.Header().Get("Content-Type"))
	}
	st.err = errors.New("disk I/O error")
	wantError(t, f.do(http.MethodGet, "/api/v1/events/export", ""), http.StatusServiceUnavailable, "disk I/O error")
	st.err = fmt.Errorf("%w: bad filter", ErrBadEventQuery)
	wantError(t, f.do(http.MethodGet, "/api/v1/events/export", ""), http.StatusBadRequest, "bad filter")

	// An error after the first byte cuts the transfer: the client never
	// takes a partial export for a whole one.
	st.err, st.exportErr = nil, errors.New("disk I/O error")
	resp, err := http.Get(f.base + "/api/v1/events/export")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("an export that failed midway reached the client as complete")
	}
}

func TestEventsRingSeesRealConnection(t *testing.T) {
	f := newFixture(t)
	c := f.sipClient("real")
	e := f.waitEvent(func(e Event) bool { return e.Kind == "ACCEPTED" && e.Remote == c.LocalAddr().String() })
	if e.Status != "SUCCESS" || e.Local != f.sip.String() || e.Direction != "in" || e.ConnID == 0 || e.Seq == 0 {
		t.Errorf("ACCEPTED event = %+v", e)
	}
	b := decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events?kind=ACCEPTED&addr="+url.QueryEscape(c.LocalAddr().String()), ""))
	if len(b.Events) == 1 && b.Events[0].Time.Equal(e.Time) {
		b.Events[0].Time = e.Time
	}
	if len(b.Events) != 1 || b.Events[0] != e {
		t.Errorf("GET /events = %+v, want %+v", b.Events, e)
	}
}
