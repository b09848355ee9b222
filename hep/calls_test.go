package hep

import (
	"strconv"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// On a trunk connection with many calls at once, the open event is sent
// again once per Call-ID, not once per message, for the first
// OpenReplaysPerConn Call-IDs only; CLOSED still names the last ones.
func TestCallTrackerTrunk(t *testing.T) {
	c := newCallTracker(callBounds{perConn: DefaultCallIDsPerConn, replays: 1000, maxConns: DefaultMaxTrackedConns})
	c.opened(&transport.Event{Kind: transport.EventAccepted, ConnID: 1}, nil)
	resent := 0
	for range 6 { // six messages per call, the calls interleaved
		for call := range 500 {
			if _, _, ok := c.message(1, []byte("call-"+strconv.Itoa(call))); ok {
				resent++
			}
		}
	}
	if resent != 500 {
		t.Fatalf("open event resent %d times, want once per Call-ID (500)", resent)
	}
	if ids := c.closed(1, nil); len(ids) != DefaultCallIDsPerConn {
		t.Fatalf("CLOSED replayed for %d Call-IDs, want the last %d", len(ids), DefaultCallIDsPerConn)
	}

	c = newCallTracker(callBounds{perConn: DefaultCallIDsPerConn, replays: DefaultOpenReplaysPerConn, maxConns: DefaultMaxTrackedConns})
	c.opened(&transport.Event{Kind: transport.EventAccepted, ConnID: 2}, nil)
	resent = 0
	for call := range 500 {
		if _, id, ok := c.message(2, []byte("call-"+strconv.Itoa(call))); ok {
			if id != "call-"+strconv.Itoa(resent) {
				t.Fatalf("open event resent for %q, want the first Call-IDs in order", id)
			}
			resent++
		}
	}
	if resent != DefaultOpenReplaysPerConn {
		t.Fatalf("open event resent %d times, want %d (the bound)", resent, DefaultOpenReplaysPerConn)
	}
	ids := c.closed(2, nil)
	if len(ids) != DefaultCallIDsPerConn {
		t.Fatalf("CLOSED replayed for %v, want the last %d Call-IDs", ids, DefaultCallIDsPerConn)
	}
	for _, id := range ids {
		if n, _ := strconv.Atoi(id[len("call-"):]); n < 500-DefaultCallIDsPerConn {
			t.Fatalf("CLOSED replayed for %v, want the last %d Call-IDs", ids, DefaultCallIDsPerConn)
		}
	}
}
