package history

import (
	"context"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// The figures of CLOSED come back whole from the store, and MinRetrans
// finds "the connections closed in the last hour with retransmits".
func TestTCPInfoStoredAndFiltered(t *testing.T) {
	s := openTest(t, testConfig(t))
	evs := genEvents(40)
	now := time.Now().Truncate(time.Microsecond).UTC()
	var want []*transport.TCPInfo
	for i := range evs {
		e := &evs[i]
		if e.Kind != transport.EventClosed {
			continue
		}
		e.Time = now.Add(-time.Duration(i) * time.Minute)
		e.TCP = &transport.TCPInfo{
			At: e.Time.Add(-3 * time.Microsecond), State: transport.TCPCloseWait, RTT: 1000 + uint32(i),
			TotalRetrans: uint32(i % 3), SendQueue: 1 << 20, LastRecv: 70000, Backoff: 3,
		}
		want = append(want, e.TCP)
	}
	if len(want) < 2 {
		t.Fatalf("%d CLOSED events generated", len(want))
	}
	record(t, s, evs...)

	p, err := s.Query(context.Background(), Filter{Kinds: []transport.EventKind{transport.EventClosed}, Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != len(want) {
		t.Fatalf("%d CLOSED events stored, want %d", len(p.Events), len(want))
	}
	for _, r := range p.Events {
		if r.TCP == nil {
			t.Fatalf("CLOSED %d without figures", r.ID)
		}
		found := false
		for _, w := range want {
			if *w == *r.TCP {
				found = true
			}
		}
		if !found {
			t.Fatalf("stored figures %+v are none of the recorded ones", *r.TCP)
		}
	}

	hour := Filter{Kinds: []transport.EventKind{transport.EventClosed}, Since: now.Add(-time.Hour), MinRetrans: 1, Limit: MaxLimit}
	p, err = s.Query(context.Background(), hour)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range want {
		if w.TotalRetrans >= 1 && !w.At.Before(now.Add(-time.Hour-time.Millisecond)) {
			n++
		}
	}
	if len(p.Events) != n || n == 0 {
		t.Fatalf("%d events with retransmits in the last hour, want %d", len(p.Events), n)
	}
	for _, r := range p.Events {
		if r.TCP.TotalRetrans < 1 || r.Kind != "CLOSED" {
			t.Fatalf("filter let through %+v", r)
		}
	}
	// Events without figures never pass the filter.
	p, _ = s.Query(context.Background(), Filter{MinRetrans: 1, Kinds: []transport.EventKind{transport.EventAccepted}})
	if len(p.Events) != 0 {
		t.Fatalf("%d ACCEPTED events with retransmits", len(p.Events))
	}
}

func TestTCPBlob(t *testing.T) {
	ts := time.Now().UnixMicro()
	ti := &transport.TCPInfo{At: time.UnixMicro(ts + 5).UTC(), State: transport.TCPEstablished, RTT: 1 << 31, Cwnd: 10, Backoff: 7}
	b := tcpBlob(ti, ts)
	got, err := parseTCPBlob(b, ts)
	if err != nil || *got != *ti {
		t.Fatalf("round trip %+v, %v; want %+v", got, err, *ti)
	}
	t.Logf("%d bytes", len(b))
	for _, bad := range [][]byte{nil, {2, 1, 0, 0}, b[:3], b[:len(b)-1]} {
		if _, err := parseTCPBlob(bad, ts); err == nil {
			t.Errorf("parsed %x", bad)
		}
	}
}
