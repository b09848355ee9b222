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

// runDatagrams sends each packet as one UDP datagram on a connected socket,
// taking whatever is queued in batches of up to maxBatch per system call.
func (s *sender) runDatagrams() {
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
		s.dropQueued(dropNotConnected)
		backoff = nextBackoff(backoff, s.opts.backoffMin, s.opts.backoffMax)
		if !s.sleep(backoff) {
			return
		}
	}
	s.setConn(conn)
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
		p, ok := s.next(nil)
		if !ok {
			return
		}
		batch = s.more(append(batch[:0], p))
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
		s.writeDatagrams(conn, bw, msgs[:len(batch)], batch)
		clear(bufs)
	}
}

// writeDatagrams sends msgs (one per packet of batch); a datagram that the
// kernel refuses (for example after an ICMP port unreachable) is counted as
// a send error and the rest go on.
func (s *sender) writeDatagrams(conn *net.UDPConn, bw batchWriter, msgs []ipv4.Message, batch []*packetBuf) {
	for len(batch) > 0 {
		if s.ctx.Err() != nil {
			s.failed(dropNotConnected, batch)
			return
		}
		n, err := bw.WriteBatch(msgs, 0)
		if n < 0 {
			n = 0
		}
		for _, p := range batch[:n] {
			s.sent(p)
		}
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
