package hep

import (
	"encoding/binary"
)

// ChunkPadding is the chunk that pads a HEP packet sent as one segment of
// a UDP train (see trainer): generic vendor, a type id no HEP revision
// assigns, zero bytes for its value. Decoders skip chunks they do not know
// (heplify-server, Kamailio's sipcapture, sngrep and this package's Decode
// do), so a padded packet decodes as the packet it pads.
const ChunkPadding ChunkType = 0xffff

// Bounds of a train.
const (
	// maxTrainSegments is how many datagrams one train carries: Linux
	// refuses more than 64 segments a send (UDP_MAX_SEGMENTS before 6.x).
	maxTrainSegments = 64
	// maxPadRatio bounds the padding: a packet is padded to at most this
	// many times its own length, so that a train never more than doubles
	// the bytes the collector receives.
	maxPadRatio = 2
	// maxPlanBytes bounds the trains one plan lays out (the rest of a batch
	// waits for the next plan), and trainBufKeep what a worker keeps of
	// its train buffer between batches unless the batch needed a quarter
	// of it: a burst's buffer is let go once the burst has passed, a
	// steady load's is kept (see keepRunBytes).
	maxPlanBytes = 1 << 20
	trainBufKeep = 256 << 10
)

// A train is what UDP generic segmentation offload (Linux's UDP_SEGMENT)
// sends with one message of sendmmsg: datagrams of one size laid end to
// end, which the kernel takes through its stack as one buffer and cuts
// into datagrams only where it must (the device, or the receiving socket
// on loopback). A datagram sent alone costs the sending thread about
// 3.8 µs of kernel time on loopback, one of a train about 1 µs (hep's
// BenchmarkUDPTrains). The price: every segment but the last has the
// segment's size, so shorter packets are padded, each with one
// ChunkPadding chunk (their HEP length includes it, as collectors check
// the length against the datagram's).
//
// trainer groups consecutive packets of a batch into trains, in order:
// a packet joins the train before it while the train stays within the
// path's segment size (maxSeg), maxTrainSegments and one datagram's
// payload in all, and no packet of it would be padded to more than
// maxPadRatio times its length. A packet that joins no train is sent as a
// datagram of its own, unpadded.
type trainer struct {
	// maxSeg is the largest segment the socket's path takes (its MTU less
	// the IP and UDP headers); 0 turns trains off.
	maxSeg int
	// buf holds the padded copies of a plan's trains; units the plan;
	// oob each train's control message.
	buf   []byte
	units []sendUnit
	oob   []byte
}

// sendUnit is one message of a sendmmsg call: a train of pkts datagrams
// cut at seg bytes, or (seg 0) one datagram.
type sendUnit struct {
	b    []byte
	seg  int
	pkts int
	pad  int // padding bytes in b
	// refused: an ICMP error quoting its start was counted for the whole
	// train (udpSocket.refusedTrain).
	refused bool
	oob     []byte // a train's control message (segment size)
	// start and end locate a train in the trainer's buffer while it grows.
	start, end int
}

// plan lays out the first packets of pkts as at most maxBatch send units
// and returns them; they cover every packet of pkts or maxBatch units'
// worth. The units' trains point into the trainer's buffer, valid until
// the next plan.
func (t *trainer) plan(pkts [][]byte) []sendUnit {
	t.units, t.buf = t.units[:0], t.buf[:0]
	for len(pkts) > 0 && len(t.units) < maxBatch && len(t.buf) < maxPlanBytes {
		n, seg := t.train(pkts)
		if n == 1 {
			t.units = append(t.units, sendUnit{b: pkts[0], pkts: 1})
			pkts = pkts[1:]
			continue
		}
		start, pad := len(t.buf), 0
		for _, p := range pkts[:n-1] {
			t.buf = appendPadded(t.buf, p, seg)
			pad += seg - len(p)
		}
		t.buf = append(t.buf, pkts[n-1]...) // the last segment may be short
		t.units = append(t.units, sendUnit{seg: seg, pkts: n, pad: pad, start: start, end: len(t.buf)})
		pkts = pkts[n:]
	}
	// buf has stopped growing: the trains can point into it.
	for i := range t.units {
		if u := &t.units[i]; u.seg > 0 {
			u.b = t.buf[u.start:u.end:u.end]
			u.oob = t.control(i, u.seg)
		}
	}
	return t.units
}

// release lets a large train buffer go once its batch is sent, unless the
// batch needed a quarter of it.
func (t *trainer) release() {
	if cap(t.buf) > trainBufKeep && len(t.buf) < cap(t.buf)/4 {
		t.buf = nil
	}
	clear(t.units) // the lone datagrams' packets go back to their run
}

// shed lets a large train buffer go when its worker goes idle.
func (t *trainer) shed() {
	if cap(t.buf) > trainBufKeep {
		t.buf = nil
	}
}

// control returns the control message that asks for segments of seg bytes,
// in the i-th slot of the trainer's control buffer.
func (t *trainer) control(i, seg int) []byte {
	size := segmentControlLen()
	if len(t.oob) < maxBatch*size {
		t.oob = make([]byte, maxBatch*size)
	}
	return putSegmentControl(t.oob[i*size:(i+1)*size], seg)
}

// train returns how many of the first packets of pkts form a train, and its
// segment size; 1 (and 0) when the first goes alone.
func (t *trainer) train(pkts [][]byte) (n, seg int) {
	first := len(pkts[0])
	if t.maxSeg == 0 || first > t.maxSeg || !isHEP3(pkts[0]) {
		return 1, 0
	}
	seg, shortest := first, first
	for n = 1; n < len(pkts) && n < maxTrainSegments; n++ {
		p := pkts[n]
		l := len(p)
		s, m := max(seg, l), min(shortest, l)
		if s > t.maxSeg || m*maxPadRatio < s || s*n+l > MaxDatagramLen || !isHEP3(p) {
			break
		}
		// Every packet before p is padded to s: a pad is a chunk, so it is
		// zero or a chunk header at least.
		if !paddable(pkts[:n], s) {
			break
		}
		seg, shortest = s, m
	}
	return n, seg
}

// paddable says whether each packet of pkts can be padded to seg bytes.
func paddable(pkts [][]byte, seg int) bool {
	for _, p := range pkts {
		if d := seg - len(p); d > 0 && d < ChunkHeaderLen {
			return false
		}
	}
	return true
}

// isHEP3 says whether p is one whole HEPv3 packet, which padding keeps
// whole; anything else queued goes alone, as it came.
func isHEP3(p []byte) bool {
	return len(p) >= HeaderLen && string(p[:4]) == "HEP3" && int(binary.BigEndian.Uint16(p[4:6])) == len(p)
}

// appendPadded appends HEP packet p to dst, padded to seg bytes with one
// ChunkPadding chunk (seg - len(p) is 0 or a chunk header at least), its
// length field set to seg.
func appendPadded(dst, p []byte, seg int) []byte {
	start := len(dst)
	dst = append(dst, p...)
	pad := seg - len(p)
	if pad == 0 {
		return dst
	}
	binary.BigEndian.PutUint16(dst[start+4:], uint16(seg))
	dst = binary.BigEndian.AppendUint16(dst, 0) // generic vendor
	dst = binary.BigEndian.AppendUint16(dst, uint16(ChunkPadding))
	dst = binary.BigEndian.AppendUint16(dst, uint16(pad))
	return append(dst, make([]byte, pad-ChunkHeaderLen)...)
}
