package hep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// batchWriter sends a batch of datagrams: a raw sendmmsg on Linux
// (udp_linux.go), x/net's ipv4 or ipv6 PacketConn elsewhere.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// refusedHeadLen is how much of a refused datagram is read from the error
// queue: the HEP header, whose length field says how long it was, and
// enough of its chunks (addresses, ports, timestamp, correlation id) to
// tell which train it began (refusedTrain). refusalOOBLen fits the control
// message of one error (sock_extended_err and the address of the host
// that reported it).
const (
	refusedHeadLen = 128
	refusalOOBLen  = 128
)

// udpSocket is a worker's connected UDP socket and what it learns from it.
//
// A collector that is not listening answers each datagram with an ICMP port
// unreachable, which the kernel turns into ECONNREFUSED on the connected
// socket. On Linux the socket also has IP_RECVERR, so each refusal is
// queued, with the refused datagram, in its error queue: the worker drains
// it after every send and moves each refused datagram from the sent count to
// the send_error drops. Elsewhere only the refusals that a later send
// returns are seen.
type udpSocket struct {
	conn *net.UDPConn
	bw   batchWriter
	// trains lays out each batch (no trains when its maxSeg is 0);
	// sending are the units of the send being made (refusedTrain).
	trains  trainer
	sending []sendUnit
	// mtuUnknown: the path's MTU could not be read yet (no trains until it
	// is; read again before each batch).
	mtuUnknown bool
	// errBuf and oobBuf receive the error queue's datagrams and their
	// control messages.
	errBuf, oobBuf []byte
	// probeSent is when the probe now waiting for its verdict was sent
	// (zero: none); lastProbe when the latest probe was sent.
	probeSent, lastProbe time.Time
}

// runDatagrams sends each packet as one UDP datagram on a connected socket
// of the worker's own, taking whatever is queued in batches of up to
// maxBatch per system call.
//
// While the destination is down (a refusal or a send error, here or on
// another worker), the worker sends no batch: every UDPProbeInterval one
// packet goes as a probe, the others are dropped (not_connected). A probe
// that UDPRefusalWait later has not been refused brings the destination
// up; one that is refused (or fails) keeps it down.
func (w *worker) runDatagrams() {
	s := w.s
	var (
		conn      *net.UDPConn
		backoff   = s.opts.backoffMin / 2
		dialFails bool
	)
	for conn == nil {
		c, err := s.dialUDP()
		if err == nil {
			conn = c
			break
		}
		dialFails = true
		s.c.connectFailures.Add(1)
		s.wentDown(err)
		w.dropQueued(dropNotConnected)
		backoff = nextBackoff(backoff, s.opts.backoffMin, s.opts.backoffMax)
		if !s.sleep(backoff) {
			return
		}
	}
	w.setConn(conn)
	bw, err := newBatchWriter(conn)
	if err != nil {
		s.wentDown(fmt.Errorf("hep: udp %s: %w", s.dest.Address(), err))
		conn.Close()
		return
	}
	u := &udpSocket{conn: conn, bw: bw, errBuf: make([]byte, refusedHeadLen), oobBuf: make([]byte, refusalOOBLen)}
	if !s.opts.noUDPGSO {
		seg, err := maxSegment(conn)
		if err != nil {
			u.mtuUnknown = true
			s.opts.logger.Warn("hep: the path MTU is not known yet: one datagram per send until it is",
				"destination", s.dest.Name, "address", s.dest.Address(), "error", err)
		}
		u.trains.maxSeg = seg
	}
	w.idle = u.trains.shed
	defer func() {
		w.idle = nil
		// Refusals of the last datagrams are counted before the socket goes.
		w.refusals(u)
		conn.Close()
	}()
	s.connected.Store(true)
	if dialFails {
		s.cameUp()
	}
	var (
		pkts    = make([][]byte, 0, maxBatch)
		msgs    = make([]ipv4.Message, maxBatch)
		bufs    = make([][]byte, maxBatch)
		verdict *time.Timer
	)
	defer func() {
		if verdict != nil {
			verdict.Stop()
		}
	}()
	for i := range msgs {
		msgs[i].Buffers = bufs[i : i+1 : i+1]
	}
	for {
		var wake <-chan time.Time
		switch {
		case u.probeSent.IsZero() && verdict != nil:
			verdict.Stop() // the probe was judged by a send
			verdict = nil
		case !u.probeSent.IsZero():
			if verdict == nil {
				verdict = time.NewTimer(time.Until(u.probeSent.Add(s.opts.refusalWait)))
			}
			wake = verdict.C
		}
		ok, woke := w.nextOrWake(nil, wake)
		if woke {
			verdict = nil
			w.judgeProbe(u)
			continue
		}
		if !ok {
			return
		}
		w.more()
		// Oversized datagrams would fail one by one; drop them first.
		pkts = pkts[:0]
		for i := range w.out.len() {
			p := w.out.packet(i)
			if len(p) > MaxDatagramLen {
				s.failed(dropTooLarge, 1)
				continue
			}
			pkts = append(pkts, p)
		}
		if s.isDown() {
			pkts = w.probeOrDrop(u, pkts)
		}
		var sentBytes int
		for _, p := range pkts {
			sentBytes += len(p)
		}
		if u.mtuUnknown {
			w.readPathMTU(u)
		}
		for rest := pkts; len(rest) > 0; {
			units := u.trains.plan(rest)
			for i := range units {
				bufs[i], msgs[i].OOB = units[i].b, units[i].oob
			}
			rest = rest[w.writeDatagrams(u, msgs[:len(units)], units):]
		}
		w.sent(len(pkts), sentBytes)
		u.trains.release()
		clear(bufs)
		clear(pkts)
		for i := range msgs {
			msgs[i].OOB = nil
		}
		w.out.reset()
		if !u.probeSent.IsZero() && verdict == nil {
			w.judgeProbe(u) // refused at once (loopback), or not yet due
		}
	}
}

// probeOrDrop keeps, of a batch that finds the destination down, the first
// packet as a probe when one is due and none is waiting for its verdict,
// and drops the rest (not_connected).
func (w *worker) probeOrDrop(u *udpSocket, batch [][]byte) [][]byte {
	s := w.s
	now := time.Now()
	if u.probeSent.IsZero() && now.Sub(u.lastProbe) >= s.opts.probeEvery && len(batch) > 0 {
		// Refusals of earlier datagrams must not be blamed on the probe.
		w.refusals(u)
		u.probeSent, u.lastProbe = now, now
		s.failed(dropNotConnected, len(batch)-1)
		return batch[:1]
	}
	s.failed(dropNotConnected, len(batch))
	return batch[:0]
}

// judgeProbe gives the waiting probe its verdict: refused (or failed), the
// destination stays down; unrefused for refusalWait, it is up again.
func (w *worker) judgeProbe(u *udpSocket) {
	if u.probeSent.IsZero() {
		return
	}
	if w.refusals(u) > 0 {
		u.probeSent = time.Time{}
		return
	}
	if time.Since(u.probeSent) >= w.s.opts.refusalWait {
		u.probeSent = time.Time{}
		w.s.cameUp()
	}
}

// refusals drains the socket's error queue: each datagram in it was sent
// and then refused, so it moves from the sent counts to the send_error
// drops, and the destination goes down. It returns how many there were.
func (w *worker) refusals(u *udpSocket) uint64 {
	n, bytes, err := readRefusals(u.conn, u.errBuf, u.oobBuf, u.refusedTrain)
	if n == 0 {
		return 0
	}
	s := w.s
	s.c.refusedBytes.Add(bytes)
	s.c.refused.Add(n)
	u.probeSent = time.Time{}
	s.wentDown(fmt.Errorf("hep: udp %s refused %d datagrams: %w", s.dest.Address(), n, err))
	return n
}

// writeDatagrams sends msgs, one per unit of units (a train or one
// datagram), and returns how many packets of the units it handled: sent,
// or dropped and counted. Linux's sendmmsg stops at a message that fails
// and returns only the count before it (a refusal pending on the socket
// is consumed there and lost): the worker then reads the error queue, and
// if the collector refused datagrams the rest of the batch is dropped
// (not_connected); otherwise it resends from the message that failed, so
// that a real error is returned. A message whose send returns an error
// is counted as a send error (each of its packets) and takes the
// destination down; the rest go on. A train that the kernel refuses for
// its segmentation ends the call early, with its packets and the ones
// after it unhandled: trains are then off (or smaller) on the socket, and
// the caller plans them again.
func (w *worker) writeDatagrams(u *udpSocket, msgs []ipv4.Message, units []sendUnit) (handled int) {
	s := w.s
	u.sending = units
	defer func() { u.sending = nil }()
	for len(units) > 0 {
		if s.ctx.Err() != nil {
			s.failed(dropNotConnected, packetsOf(units))
			return handled + packetsOf(units)
		}
		n, err := u.bw.WriteBatch(msgs, 0)
		n = max(n, 0)
		s.sentUnits(units[:n])
		handled += packetsOf(units[:n])
		msgs, units = msgs[n:], units[n:]
		if len(units) == 0 {
			break
		}
		if err == nil {
			if w.refusals(u) > 0 {
				s.failed(dropNotConnected, packetsOf(units))
				return handled + packetsOf(units)
			}
			if n > 0 {
				continue
			}
			err = errors.New("sendmmsg sent nothing")
		}
		if errors.Is(err, net.ErrClosed) {
			s.failed(dropNotConnected, packetsOf(units))
			return handled + packetsOf(units)
		}
		if units[0].seg > 0 && w.trainRefused(u, units[0].seg, err) {
			w.refusals(u)
			return handled
		}
		s.failed(dropSendError, units[0].pkts)
		handled += units[0].pkts
		msgs, units = msgs[1:], units[1:]
		u.probeSent = time.Time{}
		s.wentDown(fmt.Errorf("hep: send to udp %s: %w", s.dest.Address(), err))
	}
	w.refusals(u)
	return handled
}

// readPathMTU reads the path's MTU again for a socket whose MTU could not
// be read (the kernel answers IP_MTU from the socket's cached route, which
// it may drop): trains start once it is known.
func (w *worker) readPathMTU(u *udpSocket) {
	if seg, err := maxSegment(u.conn); err == nil && seg > 0 {
		u.trains.maxSeg, u.mtuUnknown = seg, false
		w.s.opts.logger.Info("hep: the path MTU is known: UDP trains on",
			"destination", w.s.dest.Name, "address", w.s.dest.Address(), "segment", seg)
	}
}

// trainRefused reports whether err, returned for a train of segments of
// seg bytes, is the kernel refusing the segmentation itself (a path whose
// MTU shrank below seg, a device or route that cannot segment), and if so
// adapts the socket's trainer: a smaller segment bound when the path's
// MTU is now below seg, else no trains at all, logged once.
func (w *worker) trainRefused(u *udpSocket, seg int, err error) bool {
	if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EIO) &&
		!errors.Is(err, syscall.EMSGSIZE) && !errors.Is(err, syscall.EOPNOTSUPP) {
		return false
	}
	s := w.s
	if m, _ := maxSegment(u.conn); m > 0 && m < seg {
		u.trains.maxSeg = m
		return true
	}
	u.trains.maxSeg = 0
	s.opts.logger.Warn("hep: the kernel refused a UDP train (segmentation offload): one datagram per send from now on",
		"destination", s.dest.Name, "address", s.dest.Address(), "segment", seg, "error", err)
	return true
}

// refusedTrain says how many datagrams, and bytes, one refusal (an ICMP
// error quoting the start of a datagram) stands for. A train that reaches
// the collector's host whole (loopback, or a veth into a container: no
// device segments it on the way) is refused as one buffer, with one error
// quoting its first segment, and that error comes back within the send
// that sent it: a quote that begins a train of the send being made counts
// the whole train, once. Anything else (a lone datagram, or a train that a
// device cut into datagrams on the way, each then refused by itself)
// counts one datagram.
func (u *udpSocket) refusedTrain(quote []byte) (pkts, size uint64) {
	for i := range u.sending {
		t := &u.sending[i]
		if t.seg > 0 && !t.refused && len(quote) > 0 && bytes.HasPrefix(t.b, quote) {
			t.refused = true
			return uint64(t.pkts), uint64(len(t.b))
		}
	}
	return 1, uint64(datagramLen(quote))
}

// datagramLen is the length of a refused datagram: the HEP length of a
// HEPv3 packet, else what the error quoted.
func datagramLen(b []byte) int {
	if len(b) >= 6 && string(b[:4]) == "HEP3" {
		return int(binary.BigEndian.Uint16(b[4:6]))
	}
	return len(b)
}

// packetsOf is how many packets units carry.
func packetsOf(units []sendUnit) int {
	n := 0
	for _, u := range units {
		n += u.pkts
	}
	return n
}

func (s *sender) dialUDP() (*net.UDPConn, error) {
	var d net.Dialer
	d.Timeout = s.opts.dialTimeout
	c, err := d.DialContext(s.ctx, "udp", s.dest.Address())
	if err != nil {
		return nil, fmt.Errorf("hep: dial udp %s: %w", s.dest.Address(), err)
	}
	uc := c.(*net.UDPConn)
	if err := enableRefusalQueue(uc); err != nil {
		uc.Close()
		return nil, fmt.Errorf("hep: udp %s: %w", s.dest.Address(), err)
	}
	return uc, nil
}

func isIPv6(c *net.UDPConn) bool {
	ra, ok := c.RemoteAddr().(*net.UDPAddr)
	return ok && ra.IP.To4() == nil
}
