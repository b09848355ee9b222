package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// TestQueryPlans checks that each filter is driven by its index (the speed
// itself is measured by BenchmarkQuery10M, not asserted).
func TestQueryPlans(t *testing.T) {
	s := openTest(t, testConfig(t))
	record(t, s, genEvents(100)...)
	failure := transport.StatusFailure
	cursor := position{ts: time.Now().UnixMicro(), id: 50}.encode()
	for _, c := range []struct {
		f       Filter
		indexes []string
		scan    bool // reads events in time order: the filter matches most
	}{
		{Filter{}, []string{"SCAN events USING INDEX events_ts"}, true},
		{Filter{Since: time.Now(), Cursor: cursor}, []string{"SEARCH events USING INDEX events_ts (ts>? AND ts<?)"}, false},
		{Filter{ConnID: 5, Kinds: []transport.EventKind{transport.EventClosed}, Addr: "10.1.2.3"}, []string{"events_conn (run=? AND conn_id=?)"}, false},
		{Filter{ConnID: 5, Cursor: cursor}, []string{"events_conn (run=? AND conn_id=? AND ts<?)"}, false},
		{Filter{Addr: "10.1.2.3", Kinds: []transport.EventKind{transport.EventClosed}, Status: &failure}, []string{"events_rip (rip=?)"}, false},
		{Filter{Addr: "10.1.2.3:5060", Since: time.Now()}, []string{"events_rip (rip=? AND ts>?)"}, false},
		// A local IP: its local side is most events.
		{Filter{Addr: "127.0.0.1"}, []string{"events_rip (rip=?)", "SCAN events USING INDEX events_ts"}, true},
		{Filter{Kinds: []transport.EventKind{transport.EventReadError, transport.EventWriteError}, Run: 1}, []string{"events_kind (kind=?)"}, false},
		// Routine kinds are most events.
		{Filter{Kinds: []transport.EventKind{transport.EventAccepted, transport.EventClosed}, Run: 1}, []string{"SCAN events USING INDEX events_ts"}, true},
		{Filter{CallID: "x"}, []string{"callids USING INDEX callids_hash (hash=?)", "events_conn (run=? AND conn_id=?)"}, false},
	} {
		q, err := s.buildQuery(&c.f, 101)
		if err != nil {
			t.Fatal(err)
		}
		plan := explain(t, s, q)
		for _, idx := range c.indexes {
			if !strings.Contains(plan, idx) {
				t.Errorf("%s: plan lacks %q:\n%s", describe(c.f), idx, plan)
			}
		}
		if strings.Contains(plan, "SCAN events\n") || (!c.scan && len(c.f.Kinds)+len(c.f.Addr)+int(c.f.ConnID)+len(c.f.CallID) > 0 && strings.Contains(plan, "SCAN events")) {
			t.Errorf("%s: plan scans the table:\n%s", describe(c.f), plan)
		}
	}
}

func explain(t *testing.T, s *Store, q builtQuery) string {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
