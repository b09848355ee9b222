package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/sipwire/sipwire/transport"

	"github.com/sipwire/sipwire/deploy/testtool"
)

type decoded struct {
	src, dst netip.AddrPort
	seq, ack uint32
	payload  []byte
	v6       bool
	flags    string // "S", "SA", "A", "PA", "FA"
}

// payloads are the packets of pk that carry data.
func payloads(pk []decoded) []decoded {
	var out []decoded
	for _, p := range pk {
		if len(p.payload) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// readPcap decodes every packet of a pcap and checks its IP and TCP checksums.
func readPcap(t *testing.T, b []byte) []decoded {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("pcap reader: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	var out []decoded
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if ci.CaptureLength != len(data) || ci.Length != len(data) {
			t.Fatalf("capture info %+v for %d bytes", ci, len(data))
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("packet without TCP: %v", p)
		}
		d := decoded{seq: tcp.Seq, ack: tcp.Ack, payload: tcp.Payload}
		for _, f := range []struct {
			on bool
			c  string
		}{{tcp.SYN, "S"}, {tcp.FIN, "F"}, {tcp.PSH, "P"}, {tcp.ACK, "A"}} {
			if f.on {
				d.flags += f.c
			}
		}
		var pseudo []byte
		if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if sum := checksum(ip4.Contents); sum != 0 {
				t.Fatalf("IPv4 header checksum does not verify (%#x)", sum)
			}
			if int(ip4.Length) != len(ip4.Contents)+len(ip4.Payload) {
				t.Fatalf("IPv4 length %d for %d bytes", ip4.Length, len(ip4.Contents)+len(ip4.Payload))
			}
			src, _ := netip.AddrFromSlice(ip4.SrcIP)
			dst, _ := netip.AddrFromSlice(ip4.DstIP)
			d.src, d.dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
			pseudo = append(append(slices.Clone(ip4.SrcIP.To4()), ip4.DstIP.To4()...), 0, 6)
			pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(ip4.Payload)))
		} else if ip6, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			d.v6 = true
			src, _ := netip.AddrFromSlice(ip6.SrcIP)
			dst, _ := netip.AddrFromSlice(ip6.DstIP)
			d.src, d.dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
			pseudo = append(slices.Clone(ip6.SrcIP.To16()), ip6.DstIP.To16()...)
			pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(ip6.Payload)))
			pseudo = append(pseudo, 0, 0, 0, 6)
		} else {
			t.Fatalf("packet without IP: %v", p)
		}
		seg := append(slices.Clone(tcp.Contents), tcp.Payload...)
		if sum := checksum(append(pseudo, seg...)); sum != 0 {
			t.Fatalf("TCP checksum does not verify (%#x)", sum)
		}
		out = append(out, d)
	}
	return out
}

// checksum is the Internet checksum; over data that includes a correct
// checksum field it is zero.
func checksum(b []byte) uint16 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func TestWriteSplitsAtMSSWithContinuousSequence(t *testing.T) {
	r := NewRing(0)
	r.TapMessage(tapped(7, transport.Received, testEpoch, "in-1", 4000)) // 3 segments + headers
	r.TapMessage(tapped(7, transport.Sent, testEpoch, "out-1", 0))
	r.TapMessage(tapped(7, transport.Received, testEpoch, "in-2", 0))
	var buf bytes.Buffer
	n, err := r.WritePcap(&buf, Filter{})
	if err != nil || n != 3 {
		t.Fatalf("WritePcap = %d, %v", n, err)
	}
	pk := payloads(readPcap(t, buf.Bytes()))
	msgs := r.Snapshot(Filter{})
	in1, out1 := msgs[0].Data, msgs[1].Data
	wantSegs := (len(in1)+MSS-1)/MSS + 2
	if len(pk) != wantSegs {
		t.Fatalf("%d packets, want %d", len(pk), wantSegs)
	}
	var joined []byte
	for i, p := range pk[:wantSegs-2] {
		if len(p.payload) > MSS {
			t.Errorf("segment %d has %d bytes, over the MSS", i, len(p.payload))
		}
		if p.src != testRemote || p.dst != testLocal {
			t.Errorf("segment %d goes %v -> %v, want remote -> local", i, p.src, p.dst)
		}
		if i > 0 && p.seq != pk[i-1].seq+uint32(len(pk[i-1].payload)) {
			t.Errorf("segment %d seq %d does not follow the previous one", i, p.seq)
		}
		joined = append(joined, p.payload...)
	}
	if !bytes.Equal(joined, in1) {
		t.Fatalf("segments do not reassemble to the message")
	}
	reply, next := pk[wantSegs-2], pk[wantSegs-1]
	if reply.src != testLocal || reply.dst != testRemote || !bytes.Equal(reply.payload, out1) {
		t.Errorf("reply %v -> %v", reply.src, reply.dst)
	}
	if reply.ack != pk[0].seq+uint32(len(in1)) {
		t.Errorf("reply acks %d, want %d", reply.ack, pk[0].seq+uint32(len(in1)))
	}
	if next.seq != pk[0].seq+uint32(len(in1)) || next.ack != reply.seq+uint32(len(out1)) {
		t.Errorf("second inbound seq %d ack %d do not continue the flows", next.seq, next.ack)
	}
}

func TestWriteIPv6AndMapped(t *testing.T) {
	tests := []struct {
		name          string
		local, remote string
		v6            bool
	}{
		{"v6", "[::1]:5060", "[::1]:40001", true},
		{"mapped", "[::ffff:127.0.0.1]:5060", "127.0.0.1:40001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Record{
				ConnID: 3, Time: testEpoch, Direction: transport.Sent,
				Local: netip.MustParseAddrPort(tt.local), Remote: netip.MustParseAddrPort(tt.remote),
				Data: sipMessage("v", 0),
			}
			var buf bytes.Buffer
			if err := Write(&buf, []Record{rec}); err != nil {
				t.Fatal(err)
			}
			pk := payloads(readPcap(t, buf.Bytes()))
			if len(pk) != 1 || pk[0].v6 != tt.v6 || pk[0].src.Port() != 5060 || pk[0].dst.Port() != 40001 {
				t.Fatalf("packets = %+v", pk)
			}
		})
	}
}

func TestWriteReportsWriterError(t *testing.T) {
	err := Write(failWriter{}, nil)
	if !errors.Is(err, ErrWrite) {
		t.Fatalf("err = %v, want ErrWrite", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestTsharkDecodesSIP checks that tshark reads the pcap as SIP with the
// right Call-IDs, including a message split over several segments.
func TestTsharkDecodesSIP(t *testing.T) {
	tshark := testtool.Program(t, "tshark", "tshark")
	r := NewRing(0)
	r.TapMessage(tapped(1, transport.Received, testEpoch, "call-one@sipwire", 0))
	r.TapMessage(tapped(1, transport.Sent, testEpoch, "call-two@sipwire", 3000))
	r.TapMessage(&transport.TracedMessage{
		Conn:      transport.ConnInfo{ID: 2, Local: netip.MustParseAddrPort("[::1]:5060"), Remote: netip.MustParseAddrPort("[::1]:40002")},
		Direction: transport.Received, Time: testEpoch, Data: sipMessage("call-three@sipwire", 10),
	})
	path := filepath.Join(t.TempDir(), "trace.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WritePcap(f, Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-o", "tcp.desegment_tcp_streams:TRUE", "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, " ") {
			got = append(got, l)
		}
	}
	want := []string{"call-one@sipwire", "call-two@sipwire", "call-three@sipwire"}
	if !slices.Equal(got, want) {
		t.Fatalf("tshark Call-IDs = %q, want %q\n%s", got, want, out)
	}
}

// TestWriteHandshakeAndFIN: each connection opens with SYN, SYN-ACK, ACK
// from the side that opened it (the peer for an inbound connection,
// sipwire for an outbound one) and ends with FIN-ACK both ways and an ACK,
// all with the sequence numbers of the data between.
func TestWriteHandshakeAndFIN(t *testing.T) {
	for _, outbound := range []bool{false, true} {
		t.Run(fmt.Sprint("outbound=", outbound), func(t *testing.T) {
			in := Record{ConnID: 5, Time: testEpoch, Direction: transport.Received, Outbound: outbound, Local: testLocal, Remote: testRemote, Data: sipMessage("hs", 10)}
			out := in
			out.Direction, out.Data = transport.Sent, sipMessage("hs", 20)
			var buf bytes.Buffer
			if err := Write(&buf, []Record{in, out}); err != nil {
				t.Fatal(err)
			}
			pk := readPcap(t, buf.Bytes())
			var flags []string
			for _, p := range pk {
				flags = append(flags, p.flags)
			}
			if want := []string{"S", "SA", "A", "PA", "PA", "FA", "FA", "A"}; !slices.Equal(flags, want) {
				t.Fatalf("flags %v, want %v", flags, want)
			}
			client, server := testRemote, testLocal
			if outbound {
				client, server = testLocal, testRemote
			}
			syn, synack, ack, fin1, fin2, last := pk[0], pk[1], pk[2], pk[5], pk[6], pk[7]
			if syn.src != client || syn.dst != server || synack.src != server || ack.src != client || fin1.src != client || fin2.src != server {
				t.Fatalf("the side that opened the connection does not open and close it: %+v", pk)
			}
			cdata, sdata := pk[3], pk[4] // in: the peer is the client
			if outbound {
				cdata, sdata = pk[4], pk[3] // sipwire is the client: its message is the sent one
			}
			if cdata.src != client || sdata.src != server {
				t.Fatalf("data packets %v -> %v, %v -> %v", cdata.src, cdata.dst, sdata.src, sdata.dst)
			}
			if synack.ack != syn.seq+1 || ack.seq != syn.seq+1 || ack.ack != synack.seq+1 ||
				cdata.seq != syn.seq+1 || sdata.seq != synack.seq+1 {
				t.Fatalf("handshake numbers: syn %d, syn-ack %d/%d, ack %d/%d, data %d and %d", syn.seq, synack.seq, synack.ack, ack.seq, ack.ack, cdata.seq, sdata.seq)
			}
			cEnd, sEnd := cdata.seq+uint32(len(cdata.payload)), sdata.seq+uint32(len(sdata.payload))
			if fin1.seq != cEnd || fin1.ack != sEnd || fin2.seq != sEnd || fin2.ack != cEnd+1 || last.seq != cEnd+1 || last.ack != sEnd+1 {
				t.Fatalf("FIN numbers: %d/%d, %d/%d, %d/%d; data ends at %d and %d", fin1.seq, fin1.ack, fin2.seq, fin2.ack, last.seq, last.ack, cEnd, sEnd)
			}
		})
	}
}

// TestTsharkTellsReusedPortsApart: two connections with the same four
// addresses one after the other (a client port reused) are two TCP streams
// in tshark, each of whose messages decodes as SIP.
func TestTsharkTellsReusedPortsApart(t *testing.T) {
	tshark := testtool.Program(t, "tshark", "tshark")
	var recs []Record
	at := testEpoch
	for conn := uint64(1); conn <= 2; conn++ {
		for i, dir := range []transport.MessageDirection{transport.Received, transport.Sent, transport.Received, transport.Sent} {
			at = at.Add(time.Millisecond)
			recs = append(recs, Record{ConnID: conn, Time: at, Direction: dir, Local: testLocal, Remote: testRemote,
				Data: sipMessage(fmt.Sprintf("reuse-%d-%d", conn, i/2), 50)})
		}
	}
	path := filepath.Join(t.TempDir(), "reuse.pcap")
	var buf bytes.Buffer
	if err := Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-e", "tcp.stream", "-e", "sip.Call-ID", "-e", "_ws.col.Protocol")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s%s", err, out, stderr.Bytes())
	}
	streams := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("tshark line %q", l)
		}
		if f[1] != "" {
			if f[2] != "SIP" {
				t.Errorf("a message of stream %s decodes as %s", f[0], f[2])
			}
			streams[f[0]] = append(streams[f[0]], f[1])
		}
	}
	if len(streams) != 2 || len(streams["0"]) != 4 || len(streams["1"]) != 4 || streams["0"][0] != "reuse-1-0" || streams["1"][0] != "reuse-2-0" {
		t.Fatalf("tshark streams %v, want two of 4 messages each\n%s", streams, out)
	}
}
