package hep

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchWriter is what ipv4.PacketConn and ipv6.PacketConn share: sendmmsg
// on Linux, one write per message elsewhere.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// runDatagrams sends each packet as one UDP datagram on a connected socket
// of the worker's own, taking whatever is queued in batches of up to
// maxBatch per system call.
func (w *worker) runDatagrams() {
	s := w.s
	var (
		conn    *net.UDPConn
		bw      batchWriter
		backoff = s.opts.backoffMin / 2
	)
	for conn == nil {
		c, err := s.dialUDP()
		if err == nil {
			conn, bw = c, udpBatchWriter(c)
			break
		}
		s.c.connectFailures.Add(1)
		s.wentDown(err)
		w.dropQueued(dropNotConnected)
		backoff = nextBackoff(backoff, s.opts.backoffMin, s.opts.backoffMax)
		if !s.sleep(backoff) {
			return
		}
	}
	w.setConn(conn)
	defer conn.Close()
	s.cameUp()
	var (
		batch = make([]*packetBuf, 0, maxBatch)
		msgs  = make([]ipv4.Message, maxBatch)
		bufs  = make([][]byte, maxBatch)
	)
	for i := range msgs {
		msgs[i].Buffers = bufs[i : i+1 : i+1]
	}
	for {
		p, ok := w.next(nil)
		if !ok {
			return
		}
		batch = w.more(append(batch[:0], p))
		// Oversized datagrams would fail one by one; drop them first.
		kept := batch[:0]
		for _, p := range batch {
			if len(p.b) > MaxDatagramLen {
				s.failed(dropTooLarge, []*packetBuf{p})
				continue
			}
			kept = append(kept, p)
		}
		batch = kept
		for i, p := range batch {
			msgs[i].Buffers[0] = p.b
		}
		s.writeDatagrams(bw, msgs[:len(batch)], batch)
		clear(bufs)
		clear(batch)
	}
}

// writeDatagrams sends msgs (one per packet of batch); a datagram that the
// kernel refuses (for example after an ICMP port unreachable) is counted as
// a send error and the rest go on.
func (s *sender) writeDatagrams(bw batchWriter, msgs []ipv4.Message, batch []*packetBuf) {
	for len(batch) > 0 {
		if s.ctx.Err() != nil {
			s.failed(dropNotConnected, batch)
			return
		}
		n, err := bw.WriteBatch(msgs, 0)
		n = max(n, 0)
		s.sentBatch(batch[:n])
		msgs, batch = msgs[n:], batch[n:]
		if err != nil && len(batch) > 0 {
			if errors.Is(err, net.ErrClosed) {
				s.failed(dropNotConnected, batch)
				return
			}
			s.failed(dropSendError, batch[:1])
			msgs, batch = msgs[1:], batch[1:]
		}
	}
}

func (s *sender) dialUDP() (*net.UDPConn, error) {
	var d net.Dialer
	d.Timeout = s.opts.dialTimeout
	c, err := d.DialContext(s.ctx, "udp", s.dest.Address())
	if err != nil {
		return nil, fmt.Errorf("hep: dial udp %s: %w", s.dest.Address(), err)
	}
	return c.(*net.UDPConn), nil
}

func udpBatchWriter(c *net.UDPConn) batchWriter {
	if ra, ok := c.RemoteAddr().(*net.UDPAddr); ok && ra.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}
