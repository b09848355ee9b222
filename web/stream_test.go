package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func TestStreamHelloThenLiveEvents(t *testing.T) {
	f := newFixture(t)
	fill(f.srv.Ring(), 3) // old events: not replayed without since
	s := openStream(t, f.base+"/api/v1/events/stream")
	hello := s.next()
	if hello.event != "hello" || hello.data != `{"last_seq":3,"trace":"off","run_id":"`+f.srv.RunID()+`"}` || len(f.srv.RunID()) != 16 {
		t.Fatalf("first event = %+v", hello)
	}
	c := f.sipClient("live")
	ev := s.next()
	var e Event
	if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
		t.Fatal(err)
	}
	if ev.event != "" || ev.id != strconv.FormatUint(e.Seq, 10) || e.Seq != 4 || e.Kind != "ACCEPTED" || e.Remote != c.LocalAddr().String() {
		t.Fatalf("live event = %+v / %+v", ev, e)
	}
}

func TestStreamResumesAndFilters(t *testing.T) {
	tests := []struct {
		name, query string
		hdr         []string
		want        []string
	}{
		{"since", "?since=3", nil, []string{"4", "5", "6"}},
		{"last-event-id", "", []string{"Last-Event-ID", "4"}, []string{"5", "6"}},
		{"kind filter", "?since=0&kind=CLOSED&limit=3", nil, []string{"2", "4", "6"}},
		{"addr filter", "?since=0&addr=127.0.0.1:40005", nil, []string{"5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			fill(f.srv.Ring(), 6)
			s := openStream(t, f.base+"/api/v1/events/stream"+tt.query, tt.hdr...)
			if h := s.next(); h.event != "hello" {
				t.Fatalf("first event %+v", h)
			}
			for _, id := range tt.want {
				if ev := s.next(); ev.id != id {
					t.Fatalf("event id %q, want %q", ev.id, id)
				}
			}
			// Then live: an event that fails the filters (for the filtered
			// cases) and one that passes every filter.
			f.srv.Ring().Add(&transport.Event{Kind: transport.EventAccepted, Remote: netip.MustParseAddrPort("127.0.0.1:1"), Status: transport.StatusSuccess})
			want := f.srv.Ring().Add(&transport.Event{Kind: transport.EventClosed, Remote: netip.MustParseAddrPort("127.0.0.1:40005"), Status: transport.StatusSuccess})
			ev := s.next()
			if tt.name == "kind filter" || tt.name == "addr filter" {
				if ev.id != strconv.FormatUint(want.Seq, 10) {
					t.Fatalf("live event id %s, want %d", ev.id, want.Seq)
				}
			} else if ev.id != "7" {
				t.Fatalf("live event id %s, want %d", ev.id, want.Seq-1)
			}
		})
	}
}

func TestStreamReportsGap(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.EventRingSize = 4 })
	fill(f.srv.Ring(), 10)
	s := openStream(t, f.base+"/api/v1/events/stream?since=2")
	s.next() // hello
	gap := s.next()
	if gap.event != "gap" || gap.data != `{"missed":4}` {
		t.Fatalf("gap event = %+v", gap)
	}
	if ev := s.next(); ev.id != "7" {
		t.Fatalf("after the gap: %+v", ev)
	}
}

func TestStreamBadParameters(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodGet, "/api/v1/events/stream?kind=NOPE", ""), http.StatusBadRequest, "unknown kind")
	wantError(t, f.do(http.MethodGet, "/api/v1/events/stream?since="+t0.Format(time.RFC3339), ""), http.StatusBadRequest, "sequence number")
}

func TestShutdownEndsOpenStreams(t *testing.T) {
	f := newFixture(t)
	s := openStream(t, f.base+"/api/v1/events/stream")
	s.next()
	if n := f.srv.stats().Web.StreamClients; n != 1 {
		t.Errorf("stream clients = %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an open stream: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(s.resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open after Shutdown")
	}
}

// TestStreamOutlivesWriteTimeout: the stream lifts the server's write
// timeout for its own response.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	const writeTimeout = 50 * time.Millisecond
	f := newFixture(t, func(c *Config, _ *Deps) { c.WriteTimeout = writeTimeout })
	opened := time.Now()
	s := openStream(t, f.base+"/api/v1/events/stream")
	s.next()
	// Wait until the request is well past the write timeout, counted from
	// before it was sent (the server's deadline starts after that).
	for time.Since(opened) < 6*writeTimeout {
		time.Sleep(writeTimeout)
	}
	want := f.srv.Ring().Add(&transport.Event{Kind: transport.EventAccepted, Status: transport.StatusSuccess})
	if ev := s.next(); ev.id != strconv.FormatUint(want.Seq, 10) {
		t.Fatalf("event after the write timeout = %+v", ev)
	}
}

// TestShutdownEndsIdleStreamCleanly: a stream idle for longer than the
// stream write timeout still ends cleanly (its last chunk gets a deadline of
// its own).
func TestShutdownEndsIdleStreamCleanly(t *testing.T) {
	const writeTimeout = 100 * time.Millisecond
	f := newFixture(t, func(c *Config, _ *Deps) { c.StreamWriteTimeout = writeTimeout })
	s := openStream(t, f.base+"/api/v1/events/stream")
	s.next()
	idle := time.Now()
	for time.Since(idle) < 4*writeTimeout {
		time.Sleep(writeTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := io.ReadAll(s.resp.Body); err != nil {
		t.Errorf("an idle stream ended with %v, want a clean end", err)
	}
	if n := f.srv.stats().Web.StreamWriteTimeouts; n != 0 {
		t.Errorf("write timeouts %d", n)
	}
}
