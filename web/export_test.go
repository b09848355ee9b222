package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// exported decodes a JSON-lines export.
func exportedJSONL(t *testing.T, body string) []Event {
	t.Helper()
	var out []Event
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var r struct {
			Event
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		r.Seq = uint64(r.ID)
		out = append(out, r.Event)
	}
	return out
}

func kindsOf(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

var attachment = regexp.MustCompile(`^attachment; filename="sipwire-events-\d{8}T\d{6}Z\.(jsonl|csv)"$`)

// TestExportJSONLFromRealStore exports a real connection's events, and a
// connection of an earlier run, from a real history store.
func TestExportJSONLFromRealStore(t *testing.T) {
	f := newHistoryFixture(t)
	c := f.sipClient("export-1")
	remote := c.LocalAddr().String()
	c.Close()
	evs := f.waitStored("kind=CLOSED&addr="+url.QueryEscape(remote), 1)
	conn := evs[0].ConnID

	w := f.do(http.MethodGet, "/api/v1/events/export?format=jsonl&conn="+strconvU(conn), "")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/jsonl; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); !attachment.MatchString(cd) || !strings.HasSuffix(cd, `.jsonl"`) {
		t.Errorf("content disposition %q", cd)
	}
	got := exportedJSONL(t, w.Body.String())
	if !slices.Equal(kindsOf(got), []string{"CLOSED", "ACCEPTED"}) {
		t.Fatalf("kinds %v, want CLOSED, ACCEPTED (newest first)", kindsOf(got))
	}
	for _, e := range got {
		if e.ConnID != conn || e.Run != 2 || e.Remote != remote || e.Local != f.sip.String() || e.Seq == 0 {
			t.Errorf("exported %+v", e)
		}
	}

	// The same connection id in run 1 is another connection.
	got = exportedJSONL(t, f.do(http.MethodGet, "/api/v1/events/export?conn=1&run=1", "").Body.String())
	if !slices.Equal(kindsOf(got), []string{"CLOSED", "ACCEPTED"}) || got[0].Run != 1 || got[0].Remote != run1Remote.String() || got[0].Reason != "EOF received" {
		t.Errorf("run 1 export %+v", got)
	}

	// Filters combine; limit bounds the export; an empty result is an empty
	// file.
	got = exportedJSONL(t, f.do(http.MethodGet, "/api/v1/events/export?text=eof&kind=CLOSED&addr=10.1.2.3", "").Body.String())
	if len(got) != 1 || got[0].Run != 1 {
		t.Errorf("text+kind+addr export %+v", got)
	}
	if got = exportedJSONL(t, f.do(http.MethodGet, "/api/v1/events/export?limit=1", "").Body.String()); len(got) != 1 {
		t.Errorf("limit=1 exported %d events", len(got))
	}
	w = f.do(http.MethodGet, "/api/v1/events/export?until="+url.QueryEscape(run1Time.Add(-time.Hour).Format(time.RFC3339)), "")
	if w.Code != 200 || w.Body.Len() != 0 || !attachment.MatchString(w.Header().Get("Content-Disposition")) {
		t.Errorf("empty export: %d %q %q", w.Code, w.Header().Get("Content-Disposition"), w.Body)
	}
}

// TestExportCSVOverHTTP streams a CSV export over a real HTTP connection.
func TestExportCSVOverHTTP(t *testing.T) {
	f := newHistoryFixture(t)
	c := f.sipClient("export-csv")
	remote := c.LocalAddr().String()
	f.waitStored("addr="+url.QueryEscape(remote), 1)

	resp, err := http.Get(f.base + "/api/v1/events/export?format=csv&since=" + url.QueryEscape(run1Time.Add(-time.Minute).Format(time.RFC3339)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasSuffix(resp.Header.Get("Content-Disposition"), `.csv"`) {
		t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 4 {
		t.Fatalf("rows %v", rows)
	}
	head := rows[0]
	col := func(name string) int {
		i := slices.Index(head, name)
		if i < 0 {
			t.Fatalf("no column %q in %v", name, head)
		}
		return i
	}
	run, kind, rem, reason := col("run"), col("kind"), col("remote"), col("reason")
	last := rows[len(rows)-1]
	if last[run] != "1" || last[kind] != "ACCEPTED" || last[rem] != run1Remote.String() || last[reason] != "Connection accepted" {
		t.Errorf("oldest row %v", last)
	}
	found := false
	for _, r := range rows[1:] {
		if r[rem] == remote && r[kind] == "ACCEPTED" && r[run] == "2" {
			found = true
		}
	}
	if !found {
		t.Errorf("the live connection's ACCEPTED is not in %v", rows)
	}
}

func TestExportErrors(t *testing.T) {
	f := newHistoryFixture(t)
	tests := []struct {
		query string
		says  string
	}{
		{"format=xml", "format"},
		{"format=JSONL", "format"},
		{"kind=OPENED", "unknown kind"},
		{"status=MAYBE", "status"},
		{"conn=-1", "conn"},
		{"run=0", "run"},
		{"addr=sip.example.com", "addr"},
		{"since=5", "RFC 3339"},
		{"until=tomorrow", "until"},
		{"since=2025-06-02T00:00:00Z&until=2025-06-01T00:00:00Z", "before"},
		{"limit=-1", "limit"},
		{"limit=many", "limit"},
		{"source=ring", "history"},
		{"cursor=not-a-cursor", "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := f.do(http.MethodGet, "/api/v1/events/export?"+tt.query, "")
			wantError(t, w, http.StatusBadRequest, tt.says)
			if w.Header().Get("Content-Disposition") != "" {
				t.Error("an error is not an attachment")
			}
		})
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/events?cursor=not-a-cursor", ""), http.StatusBadRequest, "cursor")
	wantError(t, f.do(http.MethodPost, "/api/v1/events/export", "", bearer...), http.StatusMethodNotAllowed, "GET")

	off := newFixture(t)
	wantError(t, off.do(http.MethodGet, "/api/v1/events/export?format=jsonl", ""), http.StatusNotFound, "not enabled")
}

// TestHistoryRunField shows that a connection id names a connection within
// one run: conn=1 is this run's connection 1 unless run= says otherwise.
func TestHistoryRunField(t *testing.T) {
	f := newHistoryFixture(t)
	c := f.sipClient("run-field")
	evs := f.waitStored("addr="+url.QueryEscape(c.LocalAddr().String()), 1)
	conn := evs[0].ConnID
	if evs[0].Run != 2 {
		t.Errorf("a live event's run %d, want 2", evs[0].Run)
	}

	b := decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events?conn=1&run=1", ""))
	if b.Source != "history" || !slices.Equal(kindsOf(b.Events), []string{"CLOSED", "ACCEPTED"}) {
		t.Fatalf("run=1 (source history by default) = %+v", b)
	}
	for _, e := range b.Events {
		if e.Run != 1 || e.ConnID != 1 || e.Remote != run1Remote.String() {
			t.Errorf("run 1 event %+v", e)
		}
	}
	b = decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events?source=history&conn="+strconvU(conn), ""))
	for _, e := range b.Events {
		if e.Run != 2 || e.ConnID != conn {
			t.Errorf("conn=%d without run gave %+v", conn, e)
		}
	}
	if conn == 1 {
		if len(b.Events) == 0 || b.Events[0].Remote == run1Remote.String() {
			t.Errorf("conn=1 without run gave run 1's connection: %+v", b.Events)
		}
	}

	// Paging by cursor reaches run 1's events.
	var all []Event
	cursor := ""
	for range 100 {
		b = decode[eventsBody](t, f.do(http.MethodGet, "/api/v1/events?source=history&limit=1&cursor="+url.QueryEscape(cursor), ""))
		all = append(all, b.Events...)
		if b.NextCursor == "" {
			break
		}
		cursor = b.NextCursor
	}
	if n := len(all); n < 3 || all[n-1].Run != 1 || all[n-1].Kind != "ACCEPTED" {
		t.Errorf("paged %d events, last %+v", n, all[len(all)-1])
	}

	// Ring events carry no run.
	w := f.do(http.MethodGet, "/api/v1/events", "")
	if strings.Contains(w.Body.String(), `"run"`) {
		t.Errorf("ring events with a run: %s", w.Body)
	}
}
