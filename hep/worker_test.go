package hep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// datagram is what a sourceCollector received: the decoded packet and the
// port it came from (each worker has a socket, so a port, of its own).
type datagram struct {
	from uint16
	p    Packet
}

// newSourceCollector receives HEP datagrams on 127.0.0.1 and reports each
// with its source port.
func newSourceCollector(t *testing.T) (Destination, <-chan datagram) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	ch := make(chan datagram, 1<<14)
	go func() {
		defer close(ch)
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var d datagram
			if err := Decode(buf[:n], &d.p); err != nil {
				t.Errorf("undecodable datagram from %v: %v", from, err)
				continue
			}
			d.p.CorrelationID = []byte(string(d.p.CorrelationID))
			d.from = from.Port()
			ch <- d
		}
	}()
	t.Cleanup(func() { c.Close() })
	return Destination{Name: "workers", Host: "127.0.0.1", Port: c.LocalAddr().(*net.UDPAddr).Port, Transport: UDP, Version: 3}, ch
}

// TestUDPWorkersKeepConnectionOrder: with several workers, the packets of
// one connection, tapped by one goroutine while others tap theirs, arrive
// in order through one socket; the connections are spread over every
// worker, and so are packets with no connection id.
func TestUDPWorkersKeepConnectionOrder(t *testing.T) {
	const (
		workers  = 4
		conns    = 8
		perRound = 10
		rounds   = 25
	)
	dest, ch := newSourceCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{dest}, Format: FormatOpenSIPS, UDPWorkers: workers})
	if st := tr.Stats()[0]; st.Workers != workers {
		t.Fatalf("%d workers, want %d", st.Workers, workers)
	}
	next := make(map[uint64]int)          // connection -> next sequence number
	portOf := make(map[uint64]uint16)     // connection -> its source port
	unkeyedPorts := make(map[uint16]bool) // ports of packets without a connection id
	for round := range rounds {
		var wg sync.WaitGroup
		for conn := uint64(0); conn <= conns; conn++ {
			wg.Go(func() {
				for i := range perRound {
					m := tapped(fmt.Sprintf("c%d-%d", conn, round*perRound+i), "w", 50)
					m.Conn.ID = conn
					tr.TapMessage(m)
				}
			})
		}
		wg.Wait()
		// Wait for this round before the next, so that the collector's
		// socket buffer never overflows: every packet must arrive.
		for range (conns + 1) * perRound {
			var d datagram
			select {
			case d = <-ch:
			case <-time.After(testTimeout):
				t.Fatalf("round %d: packets missing: %+v", round, tr.Stats()[0])
			}
			connStr, seqStr, _ := strings.Cut(strings.TrimPrefix(string(d.p.CorrelationID), "c"), "-")
			conn, _ := strconv.ParseUint(connStr, 10, 64)
			seq, _ := strconv.Atoi(seqStr)
			if conn == 0 {
				unkeyedPorts[d.from] = true
				continue
			}
			if seq != next[conn] {
				t.Fatalf("connection %d: packet %d arrived when %d was next", conn, seq, next[conn])
			}
			next[conn]++
			if p, ok := portOf[conn]; ok && p != d.from {
				t.Fatalf("connection %d: packets from ports %d and %d", conn, p, d.from)
			}
			portOf[conn] = d.from
		}
	}
	ports := make(map[uint16]bool)
	for _, p := range portOf {
		ports[p] = true
	}
	if len(ports) != workers || len(unkeyedPorts) != workers {
		t.Errorf("connections used %d ports, packets without a connection id %d, want %d each", len(ports), len(unkeyedPorts), workers)
	}
	const total = (conns + 1) * perRound * rounds
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == total })
	if st := tr.Stats()[0]; st.Drops.Total() != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUDPWorkersCountEveryPacket: many goroutines tap into a destination
// with several workers and a small queue, and Close runs while they still
// do. The queue bounds hold for the destination as a whole, and every
// message counted by the tracer is either sent or dropped under one reason,
// exactly once.
func TestUDPWorkersCountEveryPacket(t *testing.T) {
	const (
		producers = 8
		each      = 3000
		queue     = 64
	)
	sink := newUDPCollector(t)
	go func() {
		for range sink.ch {
		}
	}()
	tr, err := New(Config{
		Destinations: []Destination{sink.dest("sink")}, Format: FormatOpenSIPS, Logger: quietLogger(),
		UDPWorkers: 4, QueueSize: queue, QueueBytes: 40 << 10, BatchDelay: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		taps atomic.Int64
		over atomic.Value
	)
	for g := range producers {
		wg.Go(func() {
			for i := range each {
				m := tapped(fmt.Sprintf("p%d-%d", g, i), "w", i%700)
				m.Conn.ID = uint64(g % 6) // 0: no connection id, round-robin
				tr.TapMessage(m)
				taps.Add(1)
				if i%100 == 0 {
					if st := tr.Stats()[0]; st.QueueLen > queue || st.QueueBytes > st.QueueBytesCap {
						over.Store(st)
					}
				}
			}
		})
	}
	waitFor(t, "half the messages", func() bool { return taps.Load() >= producers*each/2 })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if st := over.Load(); st != nil {
		t.Errorf("queue over its bounds: %+v", st)
	}
	st, c := tr.Stats()[0], tr.Counters()
	if st.PacketsSent+st.Drops.Total() != c.Messages {
		t.Errorf("%d sent + %d dropped (%+v) != %d messages tapped", st.PacketsSent, st.Drops.Total(), st.Drops, c.Messages)
	}
	if st.Drops.QueueFull == 0 || st.PacketsSent == 0 || st.QueueLen != 0 || st.QueueBytes != 0 {
		t.Errorf("stats %+v: want packets sent, queue_full drops and an empty queue", st)
	}
	if c.Messages < producers*each/2 || c.Messages > producers*each {
		t.Errorf("%d messages counted of %d tapped", c.Messages, producers*each)
	}
}

func TestWorkersOfTransports(t *testing.T) {
	u := newUDPCollector(t)
	col := newStreamCollector(t, "127.0.0.1:0", nil)
	tr := newTestTracer(t, Config{Destinations: []Destination{u.dest("u"), streamDest("t", col.port(), TCP)}, UDPWorkers: 3})
	if st := tr.Stats(); st[0].Workers != 3 || st[1].Workers != 1 {
		t.Errorf("workers: udp %d, tcp %d; want 3 and 1", st[0].Workers, st[1].Workers)
	}
	var cfg Config
	if n := cfg.udpWorkers(); n < 1 || n > MaxDefaultUDPWorkers {
		t.Errorf("default of %d UDP workers", n)
	}
	if _, err := New(Config{Destinations: []Destination{u.dest("u")}, UDPWorkers: MaxUDPWorkers + 1}); !errors.Is(err, ErrConfig) {
		t.Errorf("%d UDP workers: %v, want ErrConfig", MaxUDPWorkers+1, err)
	}
}

// TestSteadyWaitKeepsUp: after a batch of steadyBatch packets the worker
// waits the batch delay for the next one, but not when a backlog (a
// quarter of the queue) is already queued, nor after sending a backlog:
// otherwise the queue could fill during the wait. The delay here is an
// hour: a wait would time out.
func TestSteadyWaitKeepsUp(t *testing.T) {
	const queue = 256
	s := newSender(Destination{Name: "x", Host: "127.0.0.1", Port: 9, Transport: TCP, Version: 3},
		senderOptions{queueLen: queue, queueBytes: 1 << 20, batchDelay: time.Hour, logger: quietLogger()})
	w := s.workers[0]
	pkt := make([]byte, 100)
	for range queue / 4 {
		s.enqueue(pkt, 1)
	}
	w.sent(steadyBatch, steadyBatch*len(pkt))
	if !w.steady {
		t.Fatal("a batch of steadyBatch packets: the next wait should be on the timer")
	}
	got := make(chan int, 1)
	go func() {
		ok, _ := w.nextOrWake(nil, nil)
		w.more()
		if !ok {
			got <- 0
			return
		}
		got <- w.out.len()
	}()
	select {
	case n := <-got:
		if n != queue/4 {
			t.Fatalf("took %d packets, want the %d queued", n, queue/4)
		}
	case <-time.After(testTimeout):
		t.Fatal("the worker waited the batch delay with a backlog queued")
	}
	if w.sent(queue/4, queue/4*len(pkt)); w.steady {
		t.Fatal("after a backlog the worker must not wait: the queue could fill")
	}
	if w.sent(steadyBatch, 1<<18); w.steady {
		t.Fatal("a quarter of the queue's bytes is a backlog too")
	}
	if w.sent(steadyBatch-1, 100); w.steady {
		t.Fatal("below steadyBatch the worker sleeps on the queue")
	}
}

// TestWorkerShedsBurstBuffers: a burst grows a worker's runs past
// keepRunBytes, and reset keeps them while batches need them; once the
// worker goes to sleep on its empty queue (the burst is over), it lets them
// go. Without it, an idle sender kept its last burst's buffers for good.
func TestWorkerShedsBurstBuffers(t *testing.T) {
	dest := newTCPSink(t)
	// The batch delay gathers the burst into a few large runs.
	tr := newTestTracer(t, Config{Destinations: []Destination{dest}, Format: FormatOpenSIPS, BatchDelay: 20 * time.Millisecond})
	waitFor(t, "the destination", func() bool { return tr.Stats()[0].Connected })
	const burst = 2000
	m := tapped("burst@example.com", "burst", 1000)
	for range burst {
		tr.TapMessage(m)
	}
	waitFor(t, "the burst sent", func() bool { return tr.Stats()[0].PacketsSent == burst })
	w := tr.senders[0].workers[0]
	var q, out int
	waitFor(t, "the worker asleep on its queue", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		q, out = cap(w.q.b), cap(w.out.b)
		return w.waiting
	})
	if q > keepRunBytes || out > keepRunBytes {
		t.Fatalf("an idle worker holds runs of %d and %d bytes after a burst of %d packets, want at most %d", q, out, burst, keepRunBytes)
	}
}
