//go:build resilience

package main

import (
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// 5,000 connections send a request one byte per second: every one is
// closed by tcp_max_msg_chunks (CHUNK_LIMIT, at the 4th byte) or
// tcp_max_msg_time (MESSAGE_TIMEOUT, 4 s), with its event, while a
// well-behaved client's round trips are all answered.
func TestResilienceOneBytePerSecond(t *testing.T) {
	const (
		clients = 5000
		// maxTicks bounds the one-byte rounds: the limits fire at the 4th
		// byte or after 4 s, so a healthy run needs 4 or 5.
		maxTicks  = 12
		heapBound = 256 << 20
	)
	needFiles(t, 2*clients+1000)
	hc := newHEPCounter(t)
	cfg := testConfigTB(hc.conn.LocalAddr().String(), "")
	cfg.TCPMaxConnections = clients + 100
	a := startApp(t, cfg)
	log := newEventLog(a.tr, 1<<16)
	addr := a.listeners[0].String()
	heap := watchHeap()
	good := pingers(addr, "good", 1, 50, 0)

	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}
	ids := acceptedIDs(t, log, conns)

	msg := optionsRequest("slow", 1, 0)
	open := clients
	done := make([]bool, clients)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; n < maxTicks && open > 0; n++ {
		for i, c := range conns {
			if done[i] {
				continue
			}
			if closedIn(log.events(ids[i])) {
				done[i] = true
				open--
				continue
			}
			c.SetWriteDeadline(time.Now().Add(ioTimeout))
			c.Write(msg[n : n+1]) // an error means sipwire closed it: seen next round
		}
		<-tick.C
	}
	waitUntil(t, "every slow connection's CLOSED", ioTimeout, func() bool {
		for i := range conns {
			if !closedIn(log.events(ids[i])) {
				return false
			}
		}
		return true
	})
	ps := good()
	ps[0].check(t)

	byKind := map[string]int{}
	for i, id := range ids {
		evs := log.events(id)
		k := kinds(evs)
		if len(evs) != 3 || evs[0].Kind != transport.EventAccepted ||
			(evs[1].Kind != transport.EventChunkLimit && evs[1].Kind != transport.EventMessageTimeout) ||
			evs[2].Status != transport.StatusFailure {
			t.Errorf("client %d, connection %d: events %q, want ACCEPTED, CHUNK_LIMIT or MESSAGE_TIMEOUT, CLOSED (FAILURE)", i, id, k)
			continue
		}
		byKind[k[1]]++
	}
	st := a.tr.Stats()
	if st.ChunkLimits+st.MessageTimeouts != clients {
		t.Errorf("transport counts %d chunk limits and %d message timeouts, want %d in all", st.ChunkLimits, st.MessageTimeouts, clients)
	}
	t.Logf("%d slow connections closed: %v; the good client did %d round trips on %d connections meanwhile",
		clients, byKind, ps[0].answered.Load(), ps[0].conns.Load())
	for _, c := range conns {
		c.Close()
	}
	stopApp(t, a)
	heap.check(t, "one byte per second", heapBound, pcapRingHeap+16<<20)
}
