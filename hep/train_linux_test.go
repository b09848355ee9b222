package hep

import (
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestUDPTrainRefused: a socket whose kernel refuses segmentation (here
// SO_NO_CHECK, with which Linux refuses UDP_SEGMENT: EINVAL) turns trains
// off with one log line, and loses nothing: every packet arrives.
func TestUDPTrainRefused(t *testing.T) {
	const n = 100
	col := newUDPCollector(t)
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, UDPWorkers: 1,
		BatchDelay: 50 * time.Millisecond, Logger: slog.New(h)})
	w := tr.senders[0].workers[0]
	waitFor(t, "the worker's socket", func() bool {
		w.connMu.Lock()
		defer w.connMu.Unlock()
		return w.conn != nil
	})
	w.connMu.Lock()
	rc, err := w.conn.(*net.UDPConn).SyscallConn()
	if err == nil {
		_ = rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_NO_CHECK, 1) })
	}
	w.connMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	trainTaps(tr, n)
	for i := range n {
		select {
		case <-col.ch:
		case <-time.After(testTimeout):
			t.Fatalf("%d datagrams of %d", i, n)
		}
	}
	waitFor(t, "the sent count", func() bool { return tr.Stats()[0].PacketsSent == n })
	st := tr.Stats()[0]
	if st.Trains != 0 || st.Drops.Total() != 0 || !st.State.Up {
		t.Errorf("stats %+v: want no train sent, no drop, up", st)
	}
	if n := h.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings, want one about the refused train", n)
	}
}

// TestUDPTrainRefusedWhole: a train that a closed port refuses comes back
// as one ICMP error for the whole buffer (loopback delivers it uncut): every
// datagram of it counts as refused (send_error), none as sent.
func TestUDPTrainRefusedWhole(t *testing.T) {
	const n = 100
	port := freeUDPPort(t)
	tr := newTestTracer(t, Config{
		Destinations: []Destination{{Name: "closed", Host: "127.0.0.1", Port: port, Transport: UDP, Version: 3}},
		UDPWorkers:   1, BatchDelay: 50 * time.Millisecond,
	})
	trainTaps(tr, n)
	waitFor(t, "every packet accounted for", func() bool {
		st := tr.Stats()[0]
		return st.PacketsSent+st.Drops.Total() == n
	})
	st := tr.Stats()[0]
	if st.Trains == 0 || st.PacketsSent != 0 || st.BytesSent != 0 || st.Drops.SendError < 2 || st.State.Up {
		t.Errorf("stats %+v: want trains, all refused (send_error) or dropped, none sent, down", st)
	}
}

// TestPathMTUReadAgain: a socket whose path MTU could not be read when it
// was set up (the kernel answers IP_MTU from a cached route, ENOTCONN
// without one) sends no trains until the MTU is read again before a batch;
// then its trains take the path's segment size.
func TestPathMTUReadAgain(t *testing.T) {
	col := newUDPCollector(t)
	conn, err := net.DialUDP("udp", nil, col.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want, err := maxSegment(conn)
	if err != nil || want <= 0 {
		t.Skipf("no path MTU on this socket: %d, %v", want, err)
	}
	u := &udpSocket{conn: conn, mtuUnknown: true}
	pkts := [][]byte{hepOfLen(t, 0, 300), hepOfLen(t, 1, 300), hepOfLen(t, 2, 200)}
	if units := u.trains.plan(pkts); len(units) != len(pkts) {
		t.Fatalf("%d units for %d packets with the MTU unknown, want one datagram each", len(units), len(pkts))
	}
	u.trains.release()
	w := &worker{s: &sender{dest: Destination{Name: "c", Host: "127.0.0.1", Transport: UDP}, opts: senderOptions{logger: quietLogger()}}}
	w.readPathMTU(u)
	if u.mtuUnknown || u.trains.maxSeg != want {
		t.Fatalf("after reading again: unknown %v, segment %d, want %d", u.mtuUnknown, u.trains.maxSeg, want)
	}
	if units := u.trains.plan(pkts); len(units) != 1 {
		t.Fatalf("%d units for %d packets once the MTU is known, want one train", len(units), len(pkts))
	}
}
