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
// sequence numbers of each connection's two directions.
type Writer struct {
	pw    *pcapgo.Writer
	buf   gopacket.SerializeBuffer
	next  map[flowKey]uint32
	ipID  uint16
	count int
}

// NewWriter writes the pcap file header to w and returns a Writer.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrWrite, err)
	}
	return &Writer{pw: pw, buf: gopacket.NewSerializeBuffer(), next: make(map[flowKey]uint32)}, nil
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

// WriteRecord writes one message as one or more TCP segments.
func (w *Writer) WriteRecord(r *Record) error {
	src, dst := endpoints(r)
	if !dst.Addr().IsValid() {
		dst = netip.AddrPortFrom(netip.IPv4Unspecified(), dst.Port())
		if src.Addr().Is6() {
			dst = netip.AddrPortFrom(netip.IPv6Unspecified(), dst.Port())
		}
	}
	me := flowKey{r.ConnID, r.Direction}
	peer := flowKey{r.ConnID, transport.Received}
	if r.Direction == transport.Received {
		peer.dir = transport.Sent
	}
	srcMAC, dstMAC := macRemote, macLocal
	if r.Direction == transport.Sent {
		srcMAC, dstMAC = macLocal, macRemote
	}
	data := r.Data
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), MSS)
		seg := data[:n]
		data = data[n:]
		seq, ack := w.seq(me), w.seq(peer)
		if err := w.writeSegment(r, src, dst, srcMAC, dstMAC, seq, ack, seg); err != nil {
			return err
		}
		w.next[me] = seq + uint32(n)
	}
	return nil
}

func (w *Writer) writeSegment(r *Record, src, dst netip.AddrPort, srcMAC, dstMAC net.HardwareAddr, seq, ack uint32, payload []byte) error {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()),
		DstPort: layers.TCPPort(dst.Port()),
		Seq:     seq,
		Ack:     ack,
		ACK:     true,
		PSH:     true,
		Window:  65535,
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

// Write writes a whole pcap of recs to w.
func Write(w io.Writer, recs []Record) error {
	pw, err := NewWriter(w)
	if err != nil {
		return err
	}
	for i := range recs {
		if err := pw.WriteRecord(&recs[i]); err != nil {
			return err
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
