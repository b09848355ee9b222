package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/history"
)

// historyAdapter serves EventStore from a real history.Store, as
// cmd/sipwire's adapter does (web's tests cannot import cmd).
type historyAdapter struct{ s *history.Store }

func (h historyAdapter) filter(q EventQuery) (history.Filter, error) {
	f := history.Filter{Since: q.Since, Until: q.Until, ConnID: q.ConnID, Run: q.Run, Addr: q.Addr,
		CallID: q.CallID, Text: q.Text, Limit: q.Limit, Cursor: q.Cursor}
	for _, k := range q.Kinds {
		kind, ok := transport.ParseEventKind(k)
		if !ok {
			return f, fmt.Errorf("%w: kind %q", ErrBadEventQuery, k)
		}
		f.Kinds = append(f.Kinds, kind)
	}
	if q.Status != "" {
		st := transport.StatusSuccess
		if q.Status == "FAILURE" {
			st = transport.StatusFailure
		}
		f.Status = &st
	}
	return f, nil
}

func (h historyAdapter) badQuery(err error) error {
	if errors.Is(err, history.ErrBadCursor) || errors.Is(err, history.ErrBadFilter) || errors.Is(err, history.ErrBadFormat) {
		return fmt.Errorf("%w: %w", ErrBadEventQuery, err)
	}
	return err
}

func (h historyAdapter) Query(ctx context.Context, q EventQuery) ([]Event, string, error) {
	f, err := h.filter(q)
	if err != nil {
		return nil, "", err
	}
	p, err := h.s.Query(ctx, f)
	if err != nil {
		return nil, "", h.badQuery(err)
	}
	out := make([]Event, len(p.Events))
	for i, r := range p.Events {
		out[i] = Event{Seq: uint64(r.ID), Time: r.Time, Kind: r.Kind, Status: r.Status, ConnID: r.ConnID, Run: r.Run,
			Direction: r.Direction, Local: r.Local, Remote: r.Remote, Listener: r.Listener, Reason: r.Reason}
	}
	return out, p.Next, nil
}

func (h historyAdapter) Export(ctx context.Context, q EventQuery, format string, w io.Writer) error {
	f, err := h.filter(q)
	if err != nil {
		return err
	}
	return h.badQuery(h.s.Export(ctx, f, format, w))
}

func (historyAdapter) ContentType(format string) string { return history.ContentType(format) }

// historyConfig is a store in dir that writes only when asked (Flush,
// Close) and keeps everything.
func historyConfig(dir string) history.Config {
	return history.Config{Path: filepath.Join(dir, "history.db"), FlushInterval: time.Hour,
		RetentionInterval: time.Hour, Retention: -1, MaxSize: -1}
}

// earlierRun records evs as one run of sipwire on the store in dir: open,
// consume, close.
func earlierRun(t *testing.T, dir string, evs ...transport.Event) {
	t.Helper()
	s, err := history.Open(context.Background(), historyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan transport.Event, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	s.Consume(ch)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The connection of run 1 in every history fixture: conn 1 from
// 10.1.2.3:40000, accepted two hours ago, closed a second later.
var (
	run1Time   = time.Now().Add(-2 * time.Hour).Truncate(time.Second).UTC()
	run1Remote = netip.MustParseAddrPort("10.1.2.3:40000")
	run1Local  = netip.MustParseAddrPort("127.0.0.1:5060")
)

func run1Events() []transport.Event {
	return []transport.Event{
		{Kind: transport.EventAccepted, ConnID: 1, Direction: transport.Inbound, Time: run1Time,
			Local: run1Local, Remote: run1Remote, Listener: run1Local, Reason: "Connection accepted"},
		{Kind: transport.EventClosed, ConnID: 1, Direction: transport.Inbound, Time: run1Time.Add(time.Second),
			Local: run1Local, Remote: run1Remote, Listener: run1Local, Reason: "EOF received"},
	}
}

// historyFixture is a fixture whose server has a real history store (in
// its run 2; run 1 holds run1Events) that records every event of the
// fixture's transport.
type historyFixture struct {
	*fixture
	store *history.Store
}

func newHistoryFixture(t *testing.T, opts ...fixtureOpt) *historyFixture {
	t.Helper()
	dir := t.TempDir()
	earlierRun(t, dir, run1Events()...)
	st, err := history.Open(context.Background(), historyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the fixture's cleanup, so run after it: the
	// transport is down and its subscription drained when the store closes.
	t.Cleanup(func() {
		if err := st.Close(context.Background()); err != nil {
			t.Errorf("close history: %v", err)
		}
	})
	if st.Run() != 2 {
		t.Fatalf("run %d, want 2", st.Run())
	}
	f := newFixture(t, append([]fixtureOpt{func(_ *Config, d *Deps) {
		d.Events = historyAdapter{st}
		d.Stats = func() map[string]any { return map[string]any{"history": st.Stats()} }
	}}, opts...)...)
	f.tr.AddObserver(st, transport.AllEvents) // the Call-IDs of the connections
	st.ConsumeSubscription(f.tr.Subscribe("history", 4096, transport.AllEvents))
	return &historyFixture{fixture: f, store: st}
}

// waitStored flushes the store until GET /events?source=history&<query>
// answers at least n events (bounded), and returns them.
func (f *historyFixture) waitStored(query string, n int) []Event {
	f.t.Helper()
	for range 500 {
		if err := f.store.Flush(context.Background()); err != nil {
			f.t.Fatal(err)
		}
		w := f.do("GET", "/api/v1/events?source=history&"+query, "")
		if w.Code != 200 {
			f.t.Fatalf("%d %s", w.Code, w.Body)
		}
		if evs := decode[eventsBody](f.t, w).Events; len(evs) >= n {
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("fewer than %d stored events for %s within 10 s", n, query)
	return nil
}
