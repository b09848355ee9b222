package pcap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/sipwire/sipwire/transport"
)

// MSS is the largest TCP payload of one synthesized segment; longer messages
// are split. It keeps every IP packet far below the 65,535-byte IP length.
const MSS = 1460

// snapLen is the pcap snapshot length: every synthesized packet fits.
const snapLen = 65535

// ErrWrite is wrapped by every error of writing a pcap.
var ErrWrite = errors.New("pcap: write")

// Locally administered MAC addresses of the two ends of every flow.
var (
	macLocal  = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macRemote = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

type flowKey struct {
	conn uint64
	dir  transport.MessageDirection
}

// Writer writes records as Ethernet frames to a pcap stream, keeping the TCP
// sequence numbers of each connection's two directions. Each connection
// starts with a synthesized three-way handshake (SYN, SYN-ACK, ACK) from the
// side that opened it, before its first message, and WriteFIN ends it, so
// that Wireshark tells apart two connections that reused a client port.
type Writer struct {
	pw    *pcapgo.Writer
	buf   gopacket.SerializeBuffer
	next  map[flowKey]uint32
	open  map[uint64]bool // connections whose handshake is written
	ipID  uint16
	count int
}

// NewWriter writes the pcap file header to w and returns a Writer.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrWrite, err)
	}
	return &Writer{pw: pw, buf: gopacket.NewSerializeBuffer(), next: make(map[flowKey]uint32), open: make(map[uint64]bool)}, nil
}

// Packets is the number of packets written so far.
func (w *Writer) Packets() int { return w.count }

// isn is the initial sequence number of one direction of a connection: any
// fixed value works; distinct ones make the flows easy to tell apart.
func isn(k flowKey) uint32 {
	x := k.conn*0x9E3779B97F4A7C15 + uint64(k.dir)*0xBF58476D1CE4E5B9
	return uint32(x>>32) ^ uint32(x)
}

func (w *Writer) seq(k flowKey) uint32 {
	s, ok := w.next[k]
	if !ok {
		s = isn(k)
		w.next[k] = s
	}
	return s
}

// endpoints returns the source and destination of a record's packets, both
// of one IP family (IPv4 when both are IPv4 or IPv4-mapped).
func endpoints(r *Record) (src, dst netip.AddrPort) {
	local, remote := unmapped(r.Local), unmapped(r.Remote)
	switch {
	case !local.Addr().IsValid() && remote.Addr().Is4():
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())
	case !local.Addr().IsValid():
		local = netip.AddrPortFrom(netip.IPv6Unspecified(), local.Port())
	case local.Addr().Is4() != remote.Addr().Is4():
		local = netip.AddrPortFrom(netip.AddrFrom16(local.Addr().As16()), local.Port())
		remote = netip.AddrPortFrom(netip.AddrFrom16(remote.Addr().As16()), remote.Port())
	}
	if r.Direction == transport.Sent {
		return local, remote
	}
	return remote, local
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// segment is one packet of a flow: which way, and its TCP flags.
type segment struct {
	dir           transport.MessageDirection
	syn, fin, psh bool
	ack           bool
}

// flowEnds returns the source and destination of a record's packets that go
// the way dir says (as a message received or sent), with their MACs.
func flowEnds(r *Record, dir transport.MessageDirection) (src, dst netip.AddrPort, srcMAC, dstMAC net.HardwareAddr) {
	rr := *r
	rr.Direction = dir
	src, dst = endpoints(&rr)
	if !dst.Addr().IsValid() {
		dst = netip.AddrPortFrom(netip.IPv4Unspecified(), dst.Port())
		if src.Addr().Is6() {
			dst = netip.AddrPortFrom(netip.IPv6Unspecified(), dst.Port())
		}
	}
	if dir == transport.Sent {
		return src, dst, macLocal, macRemote
	}
	return src, dst, macRemote, macLocal
}

func other(d transport.MessageDirection) transport.MessageDirection {
	if d == transport.Received {
		return transport.Sent
	}
	return transport.Received
}

// opener is the way the connection's opening SYN went: received for one
// sipwire accepted, sent for one it dialled.
func opener(r *Record) transport.MessageDirection {
	if r.Outbound {
		return transport.Sent
	}
	return transport.Received
}

// writeFlags writes a packet without payload; a SYN or a FIN counts one
// sequence number.
func (w *Writer) writeFlags(r *Record, sg segment) error {
	me, peer := flowKey{r.ConnID, sg.dir}, flowKey{r.ConnID, other(sg.dir)}
	seq, ack := w.seq(me), w.seq(peer)
	if sg.syn {
		seq-- // the SYN takes the number before the first byte
	}
	src, dst, srcMAC, dstMAC := flowEnds(r, sg.dir)
	if err := w.writeSegment(r, src, dst, srcMAC, dstMAC, seq, ack, sg, nil); err != nil {
		return err
	}
	if sg.fin {
		w.next[me] = seq + 1
	}
	return nil
}

// handshake writes the connection's SYN, SYN-ACK and ACK, once.
func (w *Writer) handshake(r *Record) error {
	if w.open[r.ConnID] {
		return nil
	}
	w.open[r.ConnID] = true
	c := opener(r)
	for _, sg := range []segment{{dir: c, syn: true}, {dir: other(c), syn: true, ack: true}, {dir: c, ack: true}} {
		if err := w.writeFlags(r, sg); err != nil {
			return err
		}
	}
	return nil
}

// WriteFIN ends r's connection in the file: FIN-ACK from the side that
// opened it, FIN-ACK back, and the last ACK, at r's time. The file's end of
// a connection is not necessarily the socket's: the ring may hold no later
// message of a connection still open.
func (w *Writer) WriteFIN(r *Record) error {
	if !w.open[r.ConnID] {
		return nil
	}
	delete(w.open, r.ConnID)
	c := opener(r)
	for _, sg := range []segment{{dir: c, fin: true, ack: true}, {dir: other(c), fin: true, ack: true}, {dir: c, ack: true}} {
		if err := w.writeFlags(r, sg); err != nil {
			return err
		}
	}
	return nil
}

// WriteRecord writes one message as one or more TCP segments, after the
// handshake of its connection if it is the connection's first.
func (w *Writer) WriteRecord(r *Record) error {
	if err := w.handshake(r); err != nil {
		return err
	}
	src, dst, srcMAC, dstMAC := flowEnds(r, r.Direction)
	me, peer := flowKey{r.ConnID, r.Direction}, flowKey{r.ConnID, other(r.Direction)}
	data := r.Data
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), MSS)
		seg := data[:n]
		data = data[n:]
		seq, ack := w.seq(me), w.seq(peer)
		if err := w.writeSegment(r, src, dst, srcMAC, dstMAC, seq, ack, segment{dir: r.Direction, ack: true, psh: true}, seg); err != nil {
			return err
		}
		w.next[me] = seq + uint32(n)
	}
	return nil
}

func (w *Writer) writeSegment(r *Record, src, dst netip.AddrPort, srcMAC, dstMAC net.HardwareAddr, seq, ack uint32, sg segment, payload []byte) error {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()),
		DstPort: layers.TCPPort(dst.Port()),
		Seq:     seq,
		SYN:     sg.syn,
		FIN:     sg.fin,
		ACK:     sg.ack,
		PSH:     sg.psh,
		Window:  65535,
	}
	if sg.ack {
		tcp.Ack = ack
	}
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC}
	var ip gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		w.ipID++
		ip4 := &layers.IPv4{
			Version:  4,
			IHL:      5,
			TTL:      64,
			Id:       w.ipID,
			Flags:    layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP,
			SrcIP:    src.Addr().AsSlice(),
			DstIP:    dst.Addr().AsSlice(),
		}
		if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
			return fmt.Errorf("%w: checksum layer: %w", ErrWrite, err)
		}
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{
			Version:    6,
			HopLimit:   64,
			NextHeader: layers.IPProtocolTCP,
			SrcIP:      src.Addr().AsSlice(),
			DstIP:      dst.Addr().AsSlice(),
		}
		if err := tcp.SetNetworkLayerForChecksum(ip6); err != nil {
			return fmt.Errorf("%w: checksum layer: %w", ErrWrite, err)
		}
		ip = ip6
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(w.buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("%w: serialize message %d: %w", ErrWrite, r.Seq, err)
	}
	b := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: r.Time, CaptureLength: len(b), Length: len(b)}
	if err := w.pw.WritePacket(ci, b); err != nil {
		return fmt.Errorf("%w: packet of message %d: %w", ErrWrite, r.Seq, err)
	}
	w.count++
	return nil
}

// Write writes a whole pcap of recs to w: each connection's handshake
// before its first message, its FIN after its last.
func Write(w io.Writer, recs []Record) error {
	pw, err := NewWriter(w)
	if err != nil {
		return err
	}
	last := make(map[uint64]int, 8)
	for i := range recs {
		last[recs[i].ConnID] = i
	}
	for i := range recs {
		if err := pw.WriteRecord(&recs[i]); err != nil {
			return err
		}
		if last[recs[i].ConnID] == i {
			if err := pw.WriteFIN(&recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// WritePcap writes a pcap of the records f selects to w and returns how many
// messages it holds.
func (r *Ring) WritePcap(w io.Writer, f Filter) (int, error) {
	recs := r.Snapshot(f)
	return len(recs), Write(w, recs)
}
