package hep

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feeder taps a message every millisecond until stopped, as live traffic.
type feeder struct {
	stop    chan struct{}
	done    chan struct{}
	offered atomic.Uint64
}

func startFeeder(tr *Tracer, bodyLen int) *feeder {
	f := &feeder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-tick.C:
				tr.TapMessage(tapped("feed", "f", bodyLen))
				f.offered.Add(1)
			}
		}
	}()
	return f
}

func (f *feeder) halt() uint64 {
	close(f.stop)
	<-f.done
	return f.offered.Load()
}

// HEP over UDP to a port nobody listens on: the ICMP refusals take the
// destination down with one log line, no refused datagram counts as sent,
// and once a collector listens there the destination is up again within
// 5 s, with one more line; every packet is either received by the
// collector and counted sent, or counted dropped.
func TestUDPRefusedCollectorDownThenBack(t *testing.T) {
	port := freeUDPPort(t)
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{
		Destinations: []Destination{{Name: "udp", Host: "127.0.0.1", Port: port, Transport: UDP, Version: 3}},
		UDPWorkers:   2, Logger: slog.New(h),
	})
	f := startFeeder(tr, 100)
	waitFor(t, "the destination to go down", func() bool { return !tr.Stats()[0].State.Up })
	waitFor(t, "refusals on both workers' sockets", func() bool { return tr.Stats()[0].Drops.SendError >= 2 })
	st := tr.Stats()[0]
	if st.PacketsSent != 0 || st.Connected || st.State.Outages != 1 || st.State.LastError == "" {
		t.Errorf("while refused: %+v, want nothing counted sent, not connected, one outage with its error", st)
	}
	t.Logf("down: %+v", st.State)

	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(8 << 20)
	var received, receivedBytes atomic.Uint64
	var rwg sync.WaitGroup
	rwg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var p Packet
			if Decode(buf[:n], &p) == nil {
				received.Add(1)
				receivedBytes.Add(uint64(n))
			}
		}
	})
	back := time.Now()
	waitFor(t, "the destination to be up again", func() bool { return tr.Stats()[0].State.Up })
	took := time.Since(back)
	if took > 5*time.Second {
		t.Errorf("up %v after the collector came back, want within 5 s", took)
	}
	waitFor(t, "packets at the collector", func() bool { return received.Load() > 50 })
	offered := f.halt()
	closeTracer(t, tr)
	// The collector has read everything the kernel delivered once its
	// socket is drained: wait until the count stops moving.
	waitFor(t, "the collector to read everything", func() bool {
		before := received.Load()
		time.Sleep(50 * time.Millisecond)
		return received.Load() == before
	})
	c.Close()
	rwg.Wait()

	st = tr.Stats()[0]
	if st.PacketsSent != received.Load() || st.BytesSent != receivedBytes.Load() {
		t.Errorf("counted %d sent (%d bytes), the collector received %d (%d bytes)", st.PacketsSent, st.BytesSent, received.Load(), receivedBytes.Load())
	}
	if got := st.PacketsSent + st.Drops.Total(); got != offered {
		t.Errorf("sent %d + dropped %+v = %d, want the %d offered", st.PacketsSent, st.Drops, got, offered)
	}
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != 1 || i != 1 {
		t.Errorf("%d warnings and %d infos for one outage, want 1 and 1", w, i)
	}
	if !st.State.Up || st.State.Outages != 1 || !st.Connected {
		t.Errorf("after the recovery: %+v", st)
	}
	t.Logf("recovered %v after the collector came back; %d offered: %d sent and received, drops %+v",
		took.Round(time.Millisecond), offered, st.PacketsSent, st.Drops)
}

// A TCP collector that accepts connections and closes them at once: one
// outage, one warning, however many reconnects; no recovery is logged for
// connections that do not last RecoverAfter. A real collector in its place
// brings the destination up within 5 s, with one line.
func TestTCPCollectorThatDropsConnectionsIsOneOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	var accepted atomic.Uint64
	var awg sync.WaitGroup
	awg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	})
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("drops", port, TCP)}, Logger: slog.New(h),
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond,
	})
	f := startFeeder(tr, 100)
	waitFor(t, "several reconnects", func() bool { return tr.Stats()[0].Reconnects >= 5 })
	st := tr.Stats()[0]
	if st.State.Up || st.State.Outages != 1 {
		t.Errorf("state %+v after %d reconnects, want down, one outage", st.State, st.Reconnects)
	}
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != 1 || i != 0 {
		t.Errorf("%d warnings and %d infos over %d reconnects, want 1 and 0", w, i, st.Reconnects)
	}
	ln.Close()
	awg.Wait()

	col := newStreamCollector(t, addr, nil)
	back := time.Now()
	waitFor(t, "the destination to be up again", func() bool { return tr.Stats()[0].State.Up })
	took := time.Since(back)
	if took > 5*time.Second {
		t.Errorf("up %v after the collector came back, want within 5 s", took)
	}
	recvPacket(t, col.ch)
	offered := f.halt()
	closeTracer(t, tr)
	st = tr.Stats()[0]
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != 1 || i != 1 {
		t.Errorf("%d warnings and %d infos, want 1 and 1", w, i)
	}
	if got := st.PacketsSent + st.Drops.Total(); got != offered {
		t.Errorf("sent %d + dropped %d = %d, want the %d offered", st.PacketsSent, st.Drops.Total(), got, offered)
	}
	t.Logf("%d connections accepted and dropped, %d reconnects: one outage; up %v after a real collector came back",
		accepted.Load(), st.Reconnects, took.Round(time.Millisecond))
}

// TLS: the collector is not there, then is: one outage, logged once, and
// up within 5 s of its return, after the handshake.
func TestTLSCollectorDownThenBack(t *testing.T) {
	srvCfg, caFile := writeTestCA(t)
	port := freePort(t)
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("tls", port, TLS)}, TLSCAFile: caFile, Logger: slog.New(h),
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond,
	})
	f := startFeeder(tr, 100)
	waitFor(t, "failed connects", func() bool { return tr.Stats()[0].ConnectFailures >= 3 })
	if st := tr.Stats()[0]; st.State.Up || st.State.Outages != 1 || st.PacketsSent != 0 {
		t.Errorf("while down: %+v", st)
	}
	col := newStreamCollector(t, fmt.Sprintf("127.0.0.1:%d", port), srvCfg)
	back := time.Now()
	waitFor(t, "the destination to be up again", func() bool { return tr.Stats()[0].State.Up })
	if took := time.Since(back); took > 5*time.Second {
		t.Errorf("up %v after the collector came back, want within 5 s", took)
	}
	recvPacket(t, col.ch)
	offered := f.halt()
	closeTracer(t, tr)
	st := tr.Stats()[0]
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != 1 || i != 1 {
		t.Errorf("%d warnings and %d infos, want 1 and 1", w, i)
	}
	if got := st.PacketsSent + st.Drops.Total(); got != offered {
		t.Errorf("sent %d + dropped %d = %d, want the %d offered", st.PacketsSent, st.Drops.Total(), got, offered)
	}
}

// A TCP collector that accepts and never reads: each connection takes
// writes until the buffers are full, then a write times out. The
// destination goes down once and stays down (a new connection must take
// writes for longer than a write may wait to count as a recovery): one
// warning, no recovery line, over many reconnects.
func TestTCPCollectorThatNeverReadsIsOneOutage(t *testing.T) {
	port := hangingCollector(t)
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("hanging", port, TCP)}, Logger: slog.New(h),
		WriteTimeout: 500 * time.Millisecond, RecoverAfter: 10 * time.Millisecond,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	})
	f := startFeeder(tr, 60000)
	waitFor(t, "several reconnects", func() bool { return tr.Stats()[0].Reconnects >= 4 })
	offered := f.halt()
	st := tr.Stats()[0]
	if w, i := h.count(slog.LevelWarn), h.count(slog.LevelInfo); w != 1 || i != 0 || st.State.Up || st.State.Outages != 1 {
		t.Errorf("%d warnings, %d infos, state %+v over %d reconnects: want one outage, logged once", w, i, st.State, st.Reconnects)
	}
	closeTracer(t, tr)
	st = tr.Stats()[0]
	if got := st.PacketsSent + st.Drops.Total(); got != offered {
		t.Errorf("sent %d + dropped %d = %d, want the %d offered", st.PacketsSent, st.Drops.Total(), got, offered)
	}
	t.Logf("%d reconnects to a collector that never reads: one outage; %d offered, %d sent into its buffers, drops %+v",
		st.Reconnects, offered, st.PacketsSent, st.Drops)
}

// Over IPv6 too, refusals (ICMPv6 port unreachable) take the destination
// down and no refused datagram counts as sent.
func TestUDPRefusedOverIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	tr := newTestTracer(t, Config{
		Destinations: []Destination{{Name: "v6", Host: "::1", Port: port, Transport: UDP, Version: 3}},
		UDPWorkers:   1,
	})
	f := startFeeder(tr, 100)
	waitFor(t, "the destination to go down", func() bool { return !tr.Stats()[0].State.Up })
	offered := f.halt()
	closeTracer(t, tr)
	st := tr.Stats()[0]
	if st.PacketsSent != 0 || st.BytesSent != 0 || st.Drops.SendError == 0 || st.Drops.Total() != offered {
		t.Errorf("stats %+v: want every one of %d packets dropped, the refused ones as send_error", st, offered)
	}
}
