package main

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/web/history"
)

// With history.record_untraced off the history keeps what tracing shows:
// the Call-IDs of traced messages only, as its events; on, every
// connection's.
func TestHistoryCallIDsFollowRecordUntraced(t *testing.T) {
	for _, untraced := range []bool{false, true} {
		cfg := testConfigTB("127.0.0.1:9", "")
		cfg.HepID, cfg.TraceDestination = nil, ""
		cfg.History.Enabled = true
		cfg.History.Path = t.TempDir() + "/h.db"
		cfg.History.RecordUntraced = untraced
		a := startApp(t, cfg)
		roundTrip := func(callID string) {
			c, err := net.Dial("tcp", a.listeners[0].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(request("OPTIONS", callID)))
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		a.tr.SetTracing(false)
		roundTrip("untraced-call")
		a.tr.SetTracing(true)
		roundTrip("traced-call")
		found := func(callID string) bool {
			if err := a.history.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			p, err := a.history.Query(context.Background(), history.Filter{CallID: callID})
			if err != nil {
				t.Fatal(err)
			}
			return len(p.Events) > 0
		}
		// The events reach the store through the subscription's consumer,
		// which batches them: wait (bounded) for the later call's.
		traced := false
		for i := 0; i < 250 && !traced; i++ {
			if traced = found("traced-call"); !traced {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if !traced {
			t.Errorf("record_untraced %v: the traced call is not in the history", untraced)
		}
		if got := found("untraced-call"); got != untraced {
			t.Errorf("record_untraced %v: the untraced call in the history: %v", untraced, got)
		}
		// One Call-ID row per connection that was recorded: the untraced
		// connection's only with record_untraced.
		want := uint64(1)
		if untraced {
			want = 2
		}
		if st := a.history.Stats(); st.CallIDsWritten != want {
			t.Errorf("record_untraced %v: %d Call-IDs written, want %d", untraced, st.CallIDsWritten, want)
		}
		stopApp(t, a)
	}
}
