package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/history"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// Fault tests of the event history through the built binary: a corrupt
// store at start, a full disk under load, a store that cannot be opened.
// SIP must be unaffected throughout; the outages are logged once each.

// historyStats is the part of /api/v1/stats these tests read.
type historyStats struct {
	Enabled     bool   `json:"enabled"`
	State       string `json:"state"`
	Up          bool   `json:"up"`
	Outages     uint64 `json:"outages"`
	Written     uint64 `json:"events_written"`
	Failed      uint64 `json:"events_failed"`
	CorruptFile string `json:"corrupt_file"`
	LastError   string `json:"last_error"`
}

func (in *instance) historyStats(t *testing.T) historyStats {
	t.Helper()
	var st struct {
		Exporters struct {
			History historyStats `json:"history"`
		} `json:"exporters"`
	}
	in.getJSON(t, "/api/v1/stats", &st)
	return st.Exporters.History
}

// historyConfig writes a config whose history is at path (HEP goes to a
// UDP port nobody reads, never 9060) and returns its file.
func historyConfig(t *testing.T, path string, extra string) string {
	t.Helper()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	cfg := fmt.Sprintf("hep_id:\n  - '[homer] %s; transport=udp; version=3'\nhistory:\n  path: %s\n%s", u.LocalAddr(), path, extra)
	file := filepath.Join(t.TempDir(), "sipwire.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// optionsCalls makes n OPTIONS round trips, each on a connection of its
// own (so that each raises connection events), and fails on any answer but
// a 200.
func (in *instance) optionsCalls(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		c, err := net.Dial("tcp", in.sip)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		id := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := c.Write([]byte(request("OPTIONS", id))); err != nil {
			t.Fatal(err)
		}
		resp := readMsg(t, bufio.NewReader(c))
		c.Close()
		if !strings.HasPrefix(resp, "SIP/2.0 200 OK") || !strings.Contains(resp, "Call-ID: "+id+"\r\n") {
			t.Fatalf("%s: %q", id, resp)
		}
	}
}

// logLines counts the lines of the child's log that contain substr.
func (in *instance) logLines(substr string) int {
	n := 0
	for _, l := range strings.Split(in.stderr.String(), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// waitHistory polls the history's stats until cond holds, bounded.
func (in *instance) waitHistory(t *testing.T, what string, cond func(historyStats) bool) historyStats {
	t.Helper()
	var st historyStats
	for range 1500 {
		if st = in.historyStats(t); cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %+v", what, st)
	return st
}

// A store with damaged pages (garbage over the pages new rows go to, which
// opening alone does not read) is found at start, moved aside, and a new
// store records; SIP is served.
func TestBinaryHistoryCorruptAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	writeStore(t, path, 20000)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	garbage := []byte(strings.Repeat("\xa5\x00\xff\x13", page/4))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for off := fi.Size() / 2 / page * page; off+page <= fi.Size(); off += 3 * page {
		if _, err := f.WriteAt(garbage, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	in := startSipwire(t, "-config", historyConfig(t, path, "  flush_interval: 50ms\n"))
	in.optionsCalls(t, "after-corrupt", 20)
	st := in.waitHistory(t, "events written to the new store", func(s historyStats) bool { return s.Written > 0 })
	if !st.Up || st.State != "up" || st.CorruptFile != path+".corrupt" || st.Failed != 0 || !strings.Contains(st.LastError, "corrupt") {
		t.Errorf("history stats %+v", st)
	}
	if n := in.logLines("store is corrupt; moved it aside"); n != 1 {
		t.Errorf("%d log lines about the corrupt store, want 1", n)
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Errorf("the damaged store is not kept: %v", err)
	}
}

// writeStore makes a real history store at path holding n events.
func writeStore(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := history.Open(ctx, history.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan transport.Event, 1024)
	s.Consume(ch)
	base := time.Now().Add(-time.Hour)
	for i := range n {
		ch <- transport.Event{
			Time: base.Add(time.Duration(i) * time.Millisecond), Kind: transport.EventClosed, ConnID: uint64(i/3 + 1),
			Local:  netip.MustParseAddrPort("127.0.0.1:5060"),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1024+i%60000)),
			Reason: "peer closed",
		}
	}
	close(ch)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// The disk fills under SIP load: the history goes down (one ERROR line),
// counts what it loses, and comes back (one INFO line) once there is room;
// every SIP request is answered throughout. Twice, to count the lines per
// outage.
func TestBinaryHistoryFullDisk(t *testing.T) {
	dir := testtool.SmallDisk(t, 2<<20)
	path := filepath.Join(dir, "h.db")
	in := startSipwire(t, "-config", historyConfig(t, path, "  flush_interval: 20ms\n"))
	in.optionsCalls(t, "before", 10)
	in.waitHistory(t, "the first events written", func(s historyStats) bool { return s.Written > 0 })
	filler := filepath.Join(dir, "filler")
	for outage := uint64(1); outage <= 2; outage++ {
		testtool.FillDisk(t, filler)
		for i := 0; i < 200; i++ {
			in.optionsCalls(t, fmt.Sprintf("full-%d-%d", outage, i), 20)
			if st := in.historyStats(t); st.Outages == outage && st.Failed > 0 {
				break
			}
		}
		// Several more failed batches: still one line per outage.
		failed := in.historyStats(t).Failed
		in.optionsCalls(t, fmt.Sprintf("more-%d", outage), 50)
		st := in.waitHistory(t, "more events failed", func(s historyStats) bool { return s.Failed > failed })
		if st.Up || st.State != "down" || st.Outages != outage || !strings.Contains(st.LastError, "full") {
			t.Fatalf("outage %d: history stats %+v", outage, st)
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		in.optionsCalls(t, fmt.Sprintf("after-%d", outage), 10)
		st = in.waitHistory(t, "the history back up", func(s historyStats) bool { return s.Up })
		if st.State != "up" || st.Outages != outage {
			t.Errorf("outage %d: after recovery: %+v", outage, st)
		}
		if down, up := in.logLines("event history down"), in.logLines("event history recovered"); down != int(outage) || up != int(outage) {
			t.Errorf("after outage %d: %d ERROR and %d recovery lines, want %d of each", outage, down, up, outage)
		}
	}
}

// A store that cannot be opened: the events API says why ("could not
// open: ..."), not that the history is off; SIP is served.
func TestBinaryHistoryCouldNotOpen(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startSipwire(t, "-config", historyConfig(t, filepath.Join(blocker, "h.db"), ""))
	in.optionsCalls(t, "no-history", 3)
	resp, err := http.Get("http://" + in.web + "/api/v1/events?source=history")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Error, "could not open: open history store") ||
		strings.Contains(body.Error, "not enabled") {
		t.Errorf("events API: %d %q, want 503 could not open: ...", resp.StatusCode, body.Error)
	}
	if st := in.historyStats(t); st.Enabled || st.Up || st.State != "down" || !strings.HasPrefix(st.LastError, "could not open: ") {
		t.Errorf("history stats %+v", st)
	}
}

// The config's history defaults are the store's own (one source of truth:
// this test fails when they drift apart).
func TestHistoryDefaultsMatchTheStore(t *testing.T) {
	h := config.Default().History
	checks := []struct {
		key       string
		got, want any
	}{
		{"history.path", h.Path, history.DefaultPath},
		{"history.retention", h.Retention, history.DefaultRetention},
		{"history.max_size", h.MaxSize, int64(history.DefaultMaxSize)},
		{"history.flush_interval", h.FlushInterval, history.DefaultFlushInterval},
		{"history.queue_size", h.QueueSize, history.DefaultQueueSize},
		{"history.cache_size", h.CacheSize, int64(history.DefaultCacheSize)},
		{"history.reader_cache_size", h.ReaderCacheSize, int64(history.DefaultReaderCacheSize)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: default.yaml has %v, the store's default is %v", c.key, c.got, c.want)
		}
	}
}
