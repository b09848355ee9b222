package hep

import (
	"strconv"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// On a trunk connection with many calls at once, the open event is sent
// again once per Call-ID, not once per message.
func TestCallTrackerTrunk(t *testing.T) {
	c := newCallTracker(DefaultCallIDsPerConn, DefaultMaxTrackedConns)
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
}
