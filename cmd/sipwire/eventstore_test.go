package main

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web"
	"github.com/sipwire/sipwire/web/history"
)

// recordRun records evs as one run on the store at path and returns the
// run's number.
func recordRun(t *testing.T, path string, evs ...transport.Event) int64 {
	t.Helper()
	s, err := history.Open(context.Background(), history.Config{Path: path, Retention: -1, MaxSize: -1})
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
	return s.Run()
}

// TestHistoryEventsAdapter runs the web API's queries and exports through
// the adapter against a real store holding two runs that both had a
// connection 1.
func TestHistoryEventsAdapter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	ev := func(kind transport.EventKind, st transport.Status, remote, reason string, dt time.Duration) transport.Event {
		return transport.Event{Kind: kind, Status: st, ConnID: 1, Time: at.Add(dt), Reason: reason,
			Local: netip.MustParseAddrPort("127.0.0.1:5060"), Remote: netip.MustParseAddrPort(remote)}
	}
	recordRun(t, path,
		ev(transport.EventAccepted, transport.StatusSuccess, "10.0.0.1:4000", "Connection accepted", 0),
		ev(transport.EventClosed, transport.StatusSuccess, "10.0.0.1:4000", "EOF received", time.Second))
	recordRun(t, path,
		ev(transport.EventAccepted, transport.StatusSuccess, "10.0.0.2:4000", "Connection accepted", 2*time.Second),
		ev(transport.EventReadError, transport.StatusFailure, "10.0.0.2:4000", "Read error: connection reset", 3*time.Second),
		ev(transport.EventClosed, transport.StatusFailure, "10.0.0.2:4000", "Read error: connection reset", 3*time.Second))
	s, err := history.Open(context.Background(), history.Config{Path: path, Retention: -1, MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	h := historyEvents{s}
	ctx := context.Background()

	evs, next, err := h.Query(ctx, web.EventQuery{ConnID: 1, Run: 1})
	if err != nil || next != "" || len(evs) != 2 {
		t.Fatalf("run 1: %+v %q %v", evs, next, err)
	}
	for _, e := range evs {
		if e.Run != 1 || e.ConnID != 1 || e.Remote != "10.0.0.1:4000" || e.Seq == 0 {
			t.Errorf("run 1 event %+v", e)
		}
	}
	evs, next, err = h.Query(ctx, web.EventQuery{Kinds: []string{"CLOSED", "READ_ERROR"}, Status: "FAILURE", Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].Run != 2 || evs[0].Status != "FAILURE" || next == "" {
		t.Fatalf("failures page 1: %+v %q %v", evs, next, err)
	}
	more, next2, err := h.Query(ctx, web.EventQuery{Kinds: []string{"CLOSED", "READ_ERROR"}, Status: "FAILURE", Limit: 1, Cursor: next})
	if err != nil || len(more) != 1 || more[0].Seq == evs[0].Seq || next2 != "" {
		t.Fatalf("failures page 2: %+v %q %v", more, next2, err)
	}

	var b strings.Builder
	if err := h.Export(ctx, web.EventQuery{Text: "reset"}, "csv", &b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(rows) != 3 || !slices.Contains(rows[0], "run") {
		t.Fatalf("csv export %q: %v", b.String(), err)
	}
	if ct := h.ContentType("jsonl"); ct != history.ContentType("jsonl") || h.ContentType("xml") != "" {
		t.Errorf("content types %q %q", ct, h.ContentType("xml"))
	}

	// What the store refuses is a bad query (a 400); anything else is not.
	bad := []error{
		func() error { _, _, err := h.Query(ctx, web.EventQuery{Cursor: "nope"}); return err }(),
		func() error { _, _, err := h.Query(ctx, web.EventQuery{Kinds: []string{"OPENED"}}); return err }(),
		func() error { _, _, err := h.Query(ctx, web.EventQuery{Status: "MAYBE"}); return err }(),
		func() error { _, _, err := h.Query(ctx, web.EventQuery{Addr: "host.example"}); return err }(),
		h.Export(ctx, web.EventQuery{}, "xml", io.Discard),
	}
	for i, err := range bad {
		if !errors.Is(err, web.ErrBadEventQuery) {
			t.Errorf("refused query %d: %v does not wrap web.ErrBadEventQuery", i, err)
		}
	}
	s.Close(ctx)
	if _, _, err := h.Query(ctx, web.EventQuery{}); err == nil || errors.Is(err, web.ErrBadEventQuery) {
		t.Errorf("query on a closed store: %v", err)
	}
}

// TestBinaryExportsHistory exports a connection's events from the binary's
// history and finds the history's gauges on /metrics.
func TestBinaryExportsHistory(t *testing.T) {
	in := startSipwire(t)
	c, r := in.dial(t)
	c.Write([]byte(request("OPTIONS", "export-me")))
	if resp := readMsg(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
		t.Fatalf("%s", resp)
	}
	addr := c.LocalAddr().String()
	c.Close()

	u := "http://" + in.web + "/api/v1/events/export?format=csv&addr=" + url.QueryEscape(addr)
	var rows [][]string
	for range 200 {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		rows, err = csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
			t.Fatalf("%d %q %q: %v", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), err)
		}
		if len(rows) == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(rows) != 3 {
		t.Fatalf("export of %s: %v", addr, rows)
	}
	kind := slices.Index(rows[0], "kind")
	if rows[1][kind] != "CLOSED" || rows[2][kind] != "ACCEPTED" {
		t.Errorf("exported %v", rows)
	}

	resp, err := http.Get("http://" + in.web + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"# TYPE sipwire_history_events_stored gauge",
		"# TYPE sipwire_history_size_bytes gauge",
		"# TYPE sipwire_history_oldest_event_timestamp_seconds gauge",
		"# TYPE sipwire_history_events_dropped_total counter",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
