package hep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// hepOfLen returns a HEP packet of exactly n bytes (n >= 120): its payload
// fills what the other chunks leave, tagged with i so that packets differ.
func hepOfLen(t testing.TB, i, n int) []byte {
	t.Helper()
	p := Packet{IPProtocol: IPProtoTCP, Src: evPeer, Dst: evLocal, TimeSec: 1, ProtoType: ProtoSIP, CaptureID: 1, CorrelationID: fmt.Appendf(nil, "c%d", i)}
	b, m, err := OpenPacket(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > n {
		t.Fatalf("header of %d bytes above %d", len(b), n)
	}
	b = append(b, bytes.Repeat([]byte{'a' + byte(i%26)}, n-len(b))...)
	if err := ClosePacket(b, m); err != nil {
		t.Fatal(err)
	}
	if len(b) != n {
		t.Fatalf("packet of %d bytes, want %d", len(b), n)
	}
	return b
}

// segments cuts a train as the kernel does: every seg bytes.
func segments(u sendUnit) [][]byte {
	if u.seg == 0 {
		return [][]byte{u.b}
	}
	var out [][]byte
	for b := u.b; len(b) > 0; {
		n := min(len(b), u.seg)
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// TestTrainPlan: a batch's packets, cut from their trains as the kernel
// cuts them, are the same packets in the same order, each a whole HEP
// packet whose length is its datagram's, decoding as it did before; and
// every bound of a train holds.
func TestTrainPlan(t *testing.T) {
	sizes := []int{300, 310, 600, 250, 1000, 999, 997, 1003, 1400, 1500, 400, 120, 240, 239, 238, 237, 236, 235, 234, 241}
	for range 150 { // more than maxTrainSegments of one size, more than one datagram's payload
		sizes = append(sizes, 700)
	}
	var pkts [][]byte
	for i, n := range sizes {
		pkts = append(pkts, hepOfLen(t, i, n))
	}
	pkts = append(pkts, []byte("not a HEP3 packet, relayed as it came"))
	tr := trainer{maxSeg: 1450}
	var got [][]byte
	units := 0
	for rest := pkts; len(rest) > 0; {
		us := tr.plan(rest)
		if len(us) == 0 || len(us) > maxBatch {
			t.Fatalf("plan of %d packets: %d units", len(rest), len(us))
		}
		n := 0
		for _, u := range us {
			segs := segments(u)
			if len(segs) != u.pkts {
				t.Fatalf("unit of %d packets cut into %d", u.pkts, len(segs))
			}
			if u.seg > 0 {
				if u.seg > tr.maxSeg || len(u.b) > MaxDatagramLen || u.pkts > maxTrainSegments || u.pkts < 2 {
					t.Errorf("train of %d x %d bytes (%d in all) over its bounds", u.pkts, u.seg, len(u.b))
				}
				if len(u.oob) == 0 && runtime.GOOS == "linux" {
					t.Errorf("train without its control message")
				}
			}
			pad := 0
			for _, s := range segs {
				if u.seg > 0 && len(s)*maxPadRatio < u.seg {
					t.Errorf("a %d-byte segment of %d: more than %dx padding", len(s), u.seg, maxPadRatio)
				}
				if isHEP3(s) {
					pad += len(s) - len(pkts[len(got)])
				}
				got = append(got, s)
			}
			if pad != u.pad {
				t.Errorf("unit says %d bytes of padding, has %d", u.pad, pad)
			}
			n += u.pkts
			units++
		}
		rest = rest[n:]
	}
	if len(got) != len(pkts) {
		t.Fatalf("%d datagrams out of %d packets", len(got), len(pkts))
	}
	if units >= len(pkts)/2 {
		t.Errorf("%d sends for %d packets: few trains", units, len(pkts))
	}
	for i, g := range got {
		want := pkts[i]
		if !isHEP3(want) {
			if !bytes.Equal(g, want) {
				t.Errorf("datagram %d: %q, want %q as it came", i, g, want)
			}
			continue
		}
		if !isHEP3(g) {
			t.Fatalf("datagram %d (%d bytes): not a whole HEP packet", i, len(g))
		}
		var gp, wp Packet
		if err := Decode(g, &gp); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if err := Decode(want, &wp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gp, wp) {
			t.Errorf("datagram %d decodes as %+v, want %+v", i, gp, wp)
		}
		if len(g) > len(want) {
			if !bytes.Equal(g[len(want)+ChunkHeaderLen:], make([]byte, len(g)-len(want)-ChunkHeaderLen)) ||
				binary.BigEndian.Uint16(g[len(want)+2:]) != uint16(ChunkPadding) ||
				int(binary.BigEndian.Uint16(g[len(want)+4:])) != len(g)-len(want) {
				t.Errorf("datagram %d: padding is not one zero ChunkPadding chunk: % x", i, g[len(want):min(len(g), len(want)+12)])
			}
		}
	}
}

// TestTrainPlanBytes: one plan lays out at most maxPlanBytes of trains
// (and a train's own length) however large the batch; the rest is planned
// next, and a burst's buffer is let go once a batch no longer needs it.
func TestTrainPlanBytes(t *testing.T) {
	var pkts [][]byte
	for i := range 200 {
		pkts = append(pkts, hepOfLen(t, i, 30000))
	}
	tr := trainer{maxSeg: MaxDatagramLen}
	plans := 0
	for rest := pkts; len(rest) > 0; plans++ {
		n := 0
		for _, u := range tr.plan(rest) {
			if u.seg == 0 || u.pkts != 2 {
				t.Fatalf("unit of %d packets, segment %d: want trains of 2", u.pkts, u.seg)
			}
			n += u.pkts
		}
		if len(tr.buf) > maxPlanBytes+MaxDatagramLen {
			t.Fatalf("a plan of %d bytes", len(tr.buf))
		}
		rest = rest[n:]
	}
	if plans < 200*30000/maxPlanBytes {
		t.Errorf("%d plans for %d bytes", plans, 200*30000)
	}
	tr.release()
	if cap(tr.buf) <= trainBufKeep {
		t.Fatalf("a %d-byte train buffer after a plan of %d bytes: want it kept while batches need it", cap(tr.buf), len(tr.buf))
	}
	tr.plan(pkts[:2])
	tr.release()
	if tr.buf != nil {
		t.Errorf("a %d-byte train buffer kept after the burst", cap(tr.buf))
	}
}

// TestTrainsOff: with no segment size (trains off, or not Linux) every
// packet goes alone, untouched.
func TestTrainsOff(t *testing.T) {
	pkts := [][]byte{hepOfLen(t, 1, 300), hepOfLen(t, 2, 300)}
	var tr trainer
	for i, u := range tr.plan(pkts) {
		if u.seg != 0 || u.pkts != 1 || !bytes.Equal(u.b, pkts[i]) {
			t.Errorf("unit %d: %d packets, segment %d", i, u.pkts, u.seg)
		}
	}
}

// trainTaps taps n messages of many sizes into tr from one connection, as
// one burst, and returns their SIP bytes.
func trainTaps(tr *Tracer, n int) [][]byte {
	var sent [][]byte
	for i := range n {
		m := tapped(fmt.Sprintf("train-%d@h", i), "t", (i*37)%500)
		m.Conn.ID = 7
		tr.TapMessage(m)
		sent = append(sent, m.Data)
	}
	return sent
}

// TestUDPTrainsOnTheWire: a burst sent as trains reaches a real UDP socket
// as one datagram per packet, in order, each decoding to exactly what the
// same burst decodes to without trains; the stats count the trains, the
// padding, and the bytes as received.
func TestUDPTrainsOnTheWire(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("UDP trains (UDP_SEGMENT) are Linux's")
	}
	const n = 120 // within a receive buffer of the default rmem_max (208 KiB), even if the reader lags
	receive := func(disable bool) ([][]byte, DestinationStats) {
		col := newUDPCollector(t)
		tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, UDPWorkers: 1,
			BatchDelay: 50 * time.Millisecond, DisableUDPGSO: disable})
		trainTaps(tr, n)
		var got [][]byte
		for range n {
			select {
			case b := <-col.ch:
				got = append(got, b)
			case <-time.After(testTimeout):
				t.Fatalf("%d datagrams of %d", len(got), n)
			}
		}
		waitFor(t, "the sent count", func() bool { return tr.Stats()[0].PacketsSent == n })
		return got, tr.Stats()[0]
	}
	alone, stAlone := receive(true)
	trains, st := receive(false)
	if stAlone.Trains != 0 || stAlone.PadBytes != 0 {
		t.Errorf("trains off: %d trains, %d pad bytes", stAlone.Trains, stAlone.PadBytes)
	}
	if st.Trains == 0 || st.Trains*4 > n || st.PadBytes == 0 {
		t.Errorf("%d packets in %d trains with %d pad bytes: want a few trains", n, st.Trains, st.PadBytes)
	}
	var wire, wireAlone uint64
	for i := range n {
		wire += uint64(len(trains[i]))
		wireAlone += uint64(len(alone[i]))
		if !isHEP3(trains[i]) {
			t.Fatalf("datagram %d is not one whole HEP packet", i)
		}
		var a, b Packet
		if err := Decode(alone[i], &a); err != nil {
			t.Fatal(err)
		}
		if err := Decode(trains[i], &b); err != nil {
			t.Fatalf("datagram %d of a train: %v", i, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("datagram %d: %+v from a train, %+v alone", i, b, a)
		}
	}
	if st.BytesSent != wire || stAlone.BytesSent != wireAlone || wire != wireAlone+st.PadBytes {
		t.Errorf("bytes sent %d (received %d), alone %d (%d), padding %d", st.BytesSent, wire, stAlone.BytesSent, wireAlone, st.PadBytes)
	}
}
