package history

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// want filters recs with a plain Go reading of f (callIDs: the connections
// of run 1 that carried each Call-ID).
func want(recs []Record, f Filter, run int64, callIDs map[string][]uint64) []Record {
	var out []Record
	for _, r := range recs {
		if !f.Since.IsZero() && r.Time.Before(f.Since) {
			continue
		}
		if !f.Until.IsZero() && !r.Time.Before(f.Until) {
			continue
		}
		if len(f.Kinds) > 0 && !slices.ContainsFunc(f.Kinds, func(k transport.EventKind) bool { return k.String() == r.Kind }) {
			continue
		}
		if f.Status != nil && f.Status.String() != r.Status {
			continue
		}
		if f.ConnID != 0 {
			wantRun := f.Run
			if wantRun == 0 {
				wantRun = run
			}
			if r.ConnID != f.ConnID || r.Run != wantRun {
				continue
			}
		} else if f.Run != 0 && r.Run != f.Run {
			continue
		}
		if f.CallID != "" && (r.Run != 1 || !slices.Contains(callIDs[f.CallID], r.ConnID)) {
			continue
		}
		if f.Text != "" && !strings.Contains(strings.ToLower(r.Reason), strings.ToLower(f.Text)) {
			continue
		}
		if f.Addr != "" && !addrMatches(f.Addr, r.Local) && !addrMatches(f.Addr, r.Remote) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func addrMatches(filter, addr string) bool {
	if addr == "" {
		return false
	}
	ap := netip.MustParseAddrPort(addr)
	if fp, err := netip.ParseAddrPort(filter); err == nil {
		return fp.Addr().Unmap() == ap.Addr() && fp.Port() == ap.Port()
	}
	return netip.MustParseAddr(strings.Trim(filter, "[]")).Unmap() == ap.Addr()
}

func TestQueryFilters(t *testing.T) {
	s := openTest(t, testConfig(t))
	evs := genEvents(600)
	record(t, s, evs...)
	callIDs := map[string][]uint64{"abc@10.1.2.3": {3, 7}, "only-one": {42}}
	for id, conns := range callIDs {
		for _, c := range conns {
			s.ObserveCallID(c, []byte(id))
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := recordsOf(evs, s.Run())
	failure := transport.StatusFailure
	success := transport.StatusSuccess
	mid := baseTime.Add(100 * time.Microsecond)
	tests := []Filter{
		{},
		{Since: mid},
		{Until: mid},
		{Since: mid, Until: mid.Add(50 * time.Microsecond)},
		{Since: mid, Until: mid},
		{Kinds: []transport.EventKind{transport.EventClosed}},
		{Kinds: []transport.EventKind{transport.EventAccepted, transport.EventReadError, transport.EventWriteError}},
		{Kinds: []transport.EventKind{transport.EventReadError, transport.EventWriteError}},
		{Status: &failure},
		{Status: &success, Kinds: []transport.EventKind{transport.EventClosed}},
		{ConnID: 7},
		{ConnID: 7, Run: s.Run()},
		{ConnID: 7, Run: s.Run() + 1},
		{ConnID: 100000},
		{Run: s.Run()},
		{Addr: "10.1.2.3"},
		{Addr: "10.1.2.3:40001"},
		{Addr: "10.1.2.3:5061"},
		{Addr: "127.0.0.1"},
		{Addr: "127.0.0.1:41000"},
		{Addr: "::1"},
		{Addr: "[::1]"},
		{Addr: "[::1]:5060"},
		{Addr: "2001:db8::7"},
		{Addr: "[2001:db8::7]:5062"},
		{Addr: "::ffff:10.9.9.9"},
		{Addr: "192.0.2.1"},
		{CallID: "abc@10.1.2.3"},
		{CallID: "only-one"},
		{CallID: "unknown"},
		{Text: "eof"},
		{Text: "100%"},
		{Text: "e_o"},
		{Text: "done_ok"},
		{Text: `\`},
		{Addr: "10.1.2.3", Kinds: []transport.EventKind{transport.EventClosed}, Status: &failure, Since: mid},
		{Addr: "127.0.0.1", Text: "error", ConnID: 9},
		{CallID: "abc@10.1.2.3", Kinds: []transport.EventKind{transport.EventConnected}},
	}
	for _, f := range tests {
		exp := want(all, f, s.Run(), callIDs)
		got := queryAll(t, s, f, MaxLimit)
		if !reflect.DeepEqual(ids(got), ids(exp)) {
			t.Errorf("%s: got ids %v, want %v", describe(f), ids(got), ids(exp))
			continue
		}
		if len(got) > 0 && !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: records differ: got %+v, want %+v", describe(f), got[0], exp[0])
		}
	}
	// The data must make every filter above meaningful: most select some
	// but not all events.
	if n := len(want(all, Filter{Addr: "10.1.2.3"}, s.Run(), callIDs)); n == 0 || n == len(all) {
		t.Fatalf("generated events do not exercise the address filter (%d of %d)", n, len(all))
	}
}

func TestQueryBadInput(t *testing.T) {
	s := openTest(t, testConfig(t))
	record(t, s, genEvents(10)...)
	ctx := context.Background()
	for _, c := range []struct {
		f   Filter
		err error
	}{
		{Filter{Cursor: "nope!"}, ErrBadCursor},
		{Filter{Cursor: "AQ"}, ErrBadCursor},
		{Filter{Cursor: position{1, 2}.encode() + "AA"}, ErrBadCursor},
		{Filter{Addr: "10.1.2"}, ErrBadFilter},
		{Filter{Addr: "host.example:5060"}, ErrBadFilter},
		{Filter{Since: baseTime, Until: baseTime.Add(-time.Second)}, ErrBadFilter},
	} {
		if _, err := s.Query(ctx, c.f); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", describe(c.f), err, c.err)
		}
	}
}

func TestQueryPaging(t *testing.T) {
	s := openTest(t, testConfig(t))
	evs := genEvents(250)
	record(t, s, evs...)
	all := recordsOf(evs, s.Run())
	for _, f := range []Filter{{}, {Addr: "127.0.0.1"}, {Kinds: []transport.EventKind{transport.EventClosed, transport.EventAccepted}}} {
		exp := want(all, f, s.Run(), nil)
		for _, size := range []int{1, 7, len(exp), len(exp) + 1} {
			got := queryAll(t, s, f, size)
			if !reflect.DeepEqual(ids(got), ids(exp)) {
				t.Errorf("%s, pages of %d: got %v, want %v", describe(f), size, ids(got), ids(exp))
			}
		}
	}
	// A page boundary inside a run of equal times loses nothing.
	p, err := s.Query(context.Background(), Filter{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Events[1].Time.Equal(p.Events[2].Time) && !p.Events[0].Time.Equal(p.Events[1].Time) {
		t.Fatalf("test data lacks equal times at the top: %v", p.Events[:3])
	}
	// New events do not shift a cursor: the next page goes on where it was.
	record(t, s, genEvents(5)...)
	p2, err := s.Query(context.Background(), Filter{Limit: 3, Cursor: p.Next})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(p2.Events), ids(all[3:6])) {
		t.Fatalf("page after new inserts: %v, want %v", ids(p2.Events), ids(all[3:6]))
	}
}

func TestQueryLimit(t *testing.T) {
	s := openTest(t, testConfig(t))
	record(t, s, genEvents(MaxLimit+10)...)
	for _, c := range []struct{ limit, want int }{{0, DefaultLimit}, {-1, DefaultLimit}, {5, 5}, {MaxLimit + 5, MaxLimit}} {
		p, err := s.Query(context.Background(), Filter{Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != c.want || p.Next == "" {
			t.Errorf("Limit %d: %d events, next %q; want %d and a cursor", c.limit, len(p.Events), p.Next, c.want)
		}
	}
}
