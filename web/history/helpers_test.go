package history

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// testConfig is a config for a store in t's temporary directory that writes
// only when asked (Flush, Close) and never runs retention by itself.
func testConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		Path:              filepath.Join(t.TempDir(), "history.db"),
		FlushInterval:     time.Hour,
		RetentionInterval: time.Hour,
		Retention:         -1,
		MaxSize:           -1,
	}
}

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// record writes evs to s and waits until they are committed.
func record(t testing.TB, s *Store, evs ...transport.Event) {
	t.Helper()
	s.enqueueAll(evs)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// baseTime is the time of the generated events' start: recent, so that the
// default retention keeps them.
var baseTime = time.Now().Add(-time.Hour).Truncate(time.Second).UTC()

// genEvents makes n events of varied kinds, statuses, directions and
// addresses (IPv4 and IPv6), one microsecond apart, some with equal times.
func genEvents(n int) []transport.Event {
	kinds := transport.EventKinds()
	remotes := []netip.AddrPort{
		netip.MustParseAddrPort("10.1.2.3:5060"),
		netip.MustParseAddrPort("10.1.2.3:40001"),
		netip.MustParseAddrPort("10.9.9.9:5060"),
		netip.MustParseAddrPort("[2001:db8::7]:5062"),
		netip.MustParseAddrPort("127.0.0.1:5060"),
	}
	locals := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:5060"),
		netip.MustParseAddrPort("127.0.0.1:41000"),
		netip.MustParseAddrPort("[::1]:5060"),
		{},
	}
	reasons := []string{"Connection accepted", "EOF received", "Read error: connection reset", "Timeout on no traffic", "100% done_ok"}
	evs := make([]transport.Event, n)
	for i := range evs {
		e := &evs[i]
		e.Kind = kinds[i%len(kinds)]
		e.Status = transport.Status(i / 3 % 2)
		e.ConnID = uint64(i/4 + 1)
		e.Direction = transport.Direction(i / 4 % 2)
		e.Time = baseTime.Add(time.Duration(i/2) * time.Microsecond)
		e.Remote = remotes[i/4%len(remotes)]
		e.Local = locals[i/4%len(locals)]
		if e.Direction == transport.Inbound {
			e.Listener = netip.MustParseAddrPort("127.0.0.1:5060")
		}
		e.Reason = reasons[i%len(reasons)]
	}
	return evs
}

// recordsOf returns the records Query should return for evs (stored with ids
// 1..n in run 1), newest first.
func recordsOf(evs []transport.Event, run int64) []Record {
	recs := make([]Record, len(evs))
	for i, e := range evs {
		r := Record{
			ID:        int64(i + 1),
			Run:       run,
			Time:      e.Time.Truncate(time.Microsecond).UTC(),
			Kind:      e.Kind.String(),
			Status:    e.Status.String(),
			ConnID:    e.ConnID,
			Direction: e.Direction.String(),
			Reason:    e.Reason,
		}
		if e.Local.IsValid() {
			r.Local = e.Local.String()
		}
		if e.Remote.IsValid() {
			r.Remote = e.Remote.String()
		}
		if e.Listener.IsValid() {
			r.Listener = e.Listener.String()
		}
		recs[len(evs)-1-i] = r
	}
	// Newest first by (time, id): equal times keep id order, descending.
	sortRecords(recs)
	return recs
}

func sortRecords(recs []Record) {
	for i := 1; i < len(recs); i++ {
		for j := i; j > 0 && newer(recs[j], recs[j-1]); j-- {
			recs[j], recs[j-1] = recs[j-1], recs[j]
		}
	}
}

func newer(a, b Record) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.ID > b.ID
}

func ids(recs []Record) []int64 {
	out := make([]int64, len(recs))
	for i := range recs {
		out[i] = recs[i].ID
	}
	return out
}

// queryAll follows the cursor to the end, pageSize events per page.
func queryAll(t testing.TB, s *Store, f Filter, pageSize int) []Record {
	t.Helper()
	f.Limit = pageSize
	var all []Record
	for range 100000 {
		p, err := s.Query(context.Background(), f)
		if err != nil {
			t.Fatalf("Query(%+v): %v", f, err)
		}
		all = append(all, p.Events...)
		if p.Next == "" {
			return all
		}
		if len(p.Events) != pageSize {
			t.Fatalf("page of %d events with a next cursor, want %d", len(p.Events), pageSize)
		}
		f.Cursor = p.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func describe(f Filter) string {
	return fmt.Sprintf("%+v", f)
}

// logBuffer keeps a store's log lines (slog text) for a test to count.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the lines that contain substr.
func (l *logBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}
