//go:build resilience

package main

import (
	"testing"
	"time"

	"github.com/sipwire/sipwire/hep"
)

// The HEP collector (TCP) goes down, comes up, goes down and comes up again
// while clients do OPTIONS round trips: every request is answered, the heap
// stays bounded, both reconnects are counted, and every packet offered to
// the destination is counted as sent or dropped, by reason.
func TestResilienceHEPCollectorDownUpDown(t *testing.T) {
	const (
		clients   = 8
		perConn   = 20               // round trips per connection, each connection a Call-ID
		queueSize = 1024             // hep.queue_size
		phase     = time.Second      // how long each state lasts under load
		maxWait   = 60 * time.Second // safety net of each wait (the backoff grows to seconds)
		// The heap holds the pcap ring, the HEP queue and the clients'
		// garbage, which GOGC=100 lets grow to the live heap's size.
		heapBound = 64 << 20
		// Once the load is gone only the (full) pcap ring remains.
		heapAfter = pcapRingHeap + 8<<20
	)
	col := newTCPCollector(t, freeAddr(t))
	col.start()
	cfg := testConfigTB("127.0.0.1:9", "")
	cfg.HepID = []string{"[t] " + col.addr + "; transport=tcp; version=3"}
	cfg.HEP.QueueSize = queueSize
	a := startApp(t, cfg)
	dest := func() hep.DestinationStats { return a.hep.Stats()[0] }
	waitUntil(t, "the first connection to the collector", maxWait, func() bool { return dest().Connected })

	heap := watchHeap()
	stop := pingers(a.listeners[0].String(), "hep", clients, perConn, 0)
	time.Sleep(phase)
	for round := 1; round <= 2; round++ {
		sentBefore := dest().PacketsSent
		col.stop()
		waitUntil(t, "the sender to notice the collector is down", maxWait, func() bool { return !dest().Connected })
		failures := dest().ConnectFailures
		waitUntil(t, "a failed reconnect", maxWait, func() bool { return dest().ConnectFailures > failures })
		time.Sleep(phase)
		col.start()
		waitUntil(t, "the reconnect", maxWait, func() bool {
			d := dest()
			return d.Connected && d.Reconnects == uint64(round)
		})
		time.Sleep(phase)
		if d := dest(); d.PacketsSent == sentBefore {
			t.Errorf("round %d: no packet sent while the collector was up", round)
		}
	}
	ps := stop()
	var conns uint64
	for _, p := range ps {
		p.check(t)
		conns += p.used.Load()
	}
	stopApp(t, a)
	heap.check(t, "HEP collector down, up, down", heapBound, heapAfter)
	col.waitDisconnected()
	col.check(t)

	// HEP observes every traced event inline (tracing is on, no filter):
	// it is offered every event raised.
	hepSub := a.tr.Stats().EventsRaised
	hc := a.hep.Counters()
	d := dest()
	// Homer's format sends each connection's open and CLOSED events once
	// more with its Call-ID.
	offered := hc.Events + hc.Messages + 2*conns
	t.Logf("%d connections, %d events, %d messages: %d packets offered; sent %d, dropped %+v; %d reconnects, %d failed connects; the collector decoded %d",
		conns, hc.Events, hc.Messages, offered, d.PacketsSent, d.Drops, d.Reconnects, d.ConnectFailures, col.packets.Load())
	if hc.Events != hepSub {
		t.Errorf("the tracer handled %d events of the %d offered", hc.Events, hepSub)
	}
	if d.PacketsSent+d.Drops.Total() != offered || d.QueueLen != 0 {
		t.Errorf("%d packets offered != %d sent + %d dropped (%d still queued)", offered, d.PacketsSent, d.Drops.Total(), d.QueueLen)
	}
	if d.Reconnects != 2 {
		t.Errorf("%d reconnects counted, want 2", d.Reconnects)
	}
	if d.Drops.NotConnected+d.Drops.QueueFull == 0 {
		t.Errorf("nothing dropped while the collector was down: %+v", d.Drops)
	}
	if got := col.packets.Load(); got > d.PacketsSent || got == 0 {
		t.Errorf("the collector decoded %d packets of the %d sent", got, d.PacketsSent)
	}
}
