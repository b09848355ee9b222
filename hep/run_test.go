package hep

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestRunPackets: a run hands back each packet it was given, whole and in
// order, also after another run is appended to it.
func TestRunPackets(t *testing.T) {
	var r, o run
	for i := range 5 {
		r.add(bytes.Repeat([]byte{byte('a' + i)}, i+1))
		o.add(bytes.Repeat([]byte{byte('A' + i)}, 10-i))
	}
	r.appendRun(&o)
	if r.len() != 10 {
		t.Fatalf("%d packets, want 10", r.len())
	}
	for i := range 5 {
		if want := bytes.Repeat([]byte{byte('a' + i)}, i+1); !bytes.Equal(r.packet(i), want) {
			t.Errorf("packet %d: %q, want %q", i, r.packet(i), want)
		}
		if want := bytes.Repeat([]byte{byte('A' + i)}, 10-i); !bytes.Equal(r.packet(5+i), want) {
			t.Errorf("packet %d: %q, want %q", 5+i, r.packet(5+i), want)
		}
	}
}

// TestRunLetsGoOfABurst: a run keeps its buffer for the next packets; one
// grown past keepRunBytes it keeps while the runs sent need a quarter of it
// (a steady load: no buffer grown again for every batch), and lets go after
// the first run that does not (the burst has passed).
func TestRunLetsGoOfABurst(t *testing.T) {
	var r run
	r.add(make([]byte, 1000))
	r.reset()
	if r.len() != 0 || cap(r.b) < 1000 {
		t.Fatalf("after a small run: %d packets, capacity %d; want 0 and the buffer kept", r.len(), cap(r.b))
	}
	burst := func() {
		for range keepRunBytes/MaxDatagramLen + 1 {
			r.add(make([]byte, MaxDatagramLen))
		}
	}
	burst()
	r.reset()
	grown := cap(r.b)
	if r.len() != 0 || grown <= keepRunBytes {
		t.Fatalf("after a run past keepRunBytes: %d packets, capacity %d; want 0 and the buffer kept", r.len(), grown)
	}
	burst()
	r.reset()
	if cap(r.b) != grown {
		t.Fatalf("a second run as large: capacity %d, want the buffer of %d kept", cap(r.b), grown)
	}
	r.add(make([]byte, 1000))
	r.reset()
	if r.len() != 0 || cap(r.b) != 0 || cap(r.ends) != 0 {
		t.Fatalf("after the burst: %d packets, capacity %d and %d; want the buffers let go", r.len(), cap(r.b), cap(r.ends))
	}
}

// TestUDPRunLargerThanABatch: a worker that takes more packets than one
// sendmmsg call carries (maxBatch) sends them all, in order, each as one
// datagram.
func TestUDPRunLargerThanABatch(t *testing.T) {
	const n = 5*maxBatch + 7
	dest, ch := newSourceCollector(t)
	// The batch delay lets the whole burst queue before the worker takes
	// it: one run of n packets.
	tr := newTestTracer(t, Config{Destinations: []Destination{dest}, Format: FormatOpenSIPS, UDPWorkers: 1, BatchDelay: 50 * time.Millisecond})
	// A first packet, so that the worker waits the batch delay with the
	// burst queueing behind it.
	tr.TapMessage(tapped("first", "w", 10))
	for i := range n {
		m := tapped(fmt.Sprintf("seq-%d", i), "w", 100)
		m.Conn.ID = 7
		tr.TapMessage(m)
	}
	next := -1
	for next < n-1 {
		var d datagram
		select {
		case d = <-ch:
		case <-time.After(testTimeout):
			t.Fatalf("%d of %d packets arrived: %+v", next+1, n, tr.Stats()[0])
		}
		var seq int
		if string(d.p.CorrelationID) == "first" {
			continue
		}
		if _, err := fmt.Sscanf(string(d.p.CorrelationID), "seq-%d", &seq); err != nil || seq != next+1 {
			t.Fatalf("packet %q arrived when seq-%d was next", d.p.CorrelationID, next+1)
		}
		next = seq
	}
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == n+1 })
	if st := tr.Stats()[0]; st.Drops.Total() != 0 {
		t.Errorf("drops %+v", st.Drops)
	}
}

// TestTwoDestinationsGetEveryPacket: with two destinations a packet is
// encoded once and copied into each queue; one that HEP cannot carry is a
// too_large drop at both and one encode failure.
func TestTwoDestinationsGetEveryPacket(t *testing.T) {
	a, b := newUDPCollector(t), newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{a.dest("a"), b.dest("b")}, Format: FormatOpenSIPS})
	tr.TapMessage(tapped("huge", "hep", MaxPacketLen))
	for i := range 3 {
		tr.TapMessage(tapped(fmt.Sprintf("small-%d", i), "ok", 10))
	}
	for _, col := range []*udpCollector{a, b} {
		for i := range 3 {
			if p := col.next(t); string(p.CorrelationID) != fmt.Sprintf("small-%d", i) {
				t.Fatalf("got %q, want small-%d", p.CorrelationID, i)
			}
		}
	}
	waitFor(t, "the sent counters", func() bool { st := tr.Stats(); return st[0].PacketsSent == 3 && st[1].PacketsSent == 3 })
	for _, st := range tr.Stats() {
		if st.Drops.TooLarge != 1 {
			t.Errorf("%s: drops %+v, want 1 too_large", st.Name, st.Drops)
		}
	}
	if c := tr.Counters(); c.EncodeFailures != 1 {
		t.Errorf("counters %+v, want 1 encode failure", c)
	}
}
