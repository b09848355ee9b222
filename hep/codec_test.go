package hep

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// hexBytes decodes a hex dump that may contain spaces, newlines and
// "#"-comments.
func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

func samplePacket4() *Packet {
	return &Packet{
		IPProtocol:    IPProtoTCP,
		Src:           netip.MustParseAddrPort("10.0.0.1:5060"),
		Dst:           netip.MustParseAddrPort("192.168.1.2:40000"),
		TimeSec:       1700000000,
		TimeUsec:      123456,
		ProtoType:     ProtoSIP,
		CaptureID:     2001,
		AuthKey:       []byte("key"),
		CorrelationID: []byte("abc@h"),
		VLAN:          7,
		NodeName:      []byte("n1"),
		Payload:       []byte("OPTIONS"),
	}
}

func TestAppendPacketGoldenIPv4(t *testing.T) {
	want := hexBytes(t, `
48455033 008e                      # "HEP3", total length 142
0000 0001 0007 02                  # family IPv4
0000 0002 0007 06                  # IP protocol TCP
0000 0003 000a 0a000001            # IPv4 source 10.0.0.1
0000 0004 000a c0a80102            # IPv4 destination 192.168.1.2
0000 0007 0008 13c4                # source port 5060
0000 0008 0008 9c40                # destination port 40000
0000 0009 000a 6553f100            # seconds 1700000000
0000 000a 000a 0001e240            # microseconds 123456
0000 000b 0007 01                  # proto type SIP
0000 000c 000a 000007d1            # capture id 2001
0000 000e 0009 6b6579              # auth key "key"
0000 0011 000b 6162634068          # correlation id "abc@h"
0000 0012 0008 0007                # VLAN 7
0000 0013 0008 6e31                # node name "n1"
0000 000f 000d 4f5054494f4e53      # payload "OPTIONS", last
`)
	got, err := AppendPacket(nil, samplePacket4())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
	}
	if n := EncodedLen(samplePacket4()); n != len(want) {
		t.Errorf("EncodedLen = %d, want %d", n, len(want))
	}
}

func TestAppendPacketGoldenIPv6Minimal(t *testing.T) {
	p := &Packet{
		IPProtocol: IPProtoUDP,
		Src:        netip.MustParseAddrPort("[2001:db8::1]:9060"),
		Dst:        netip.MustParseAddrPort("[::1]:1"),
		TimeSec:    1,
		TimeUsec:   2,
		ProtoType:  ProtoLog,
		CaptureID:  1,
	}
	want := hexBytes(t, `
48455033 007b                                       # total length 123
0000 0001 0007 0a                                   # family IPv6
0000 0002 0007 11                                   # IP protocol UDP
0000 0005 0016 20010db8000000000000000000000001     # IPv6 source
0000 0006 0016 00000000000000000000000000000001     # IPv6 destination
0000 0007 0008 2364                                 # source port 9060
0000 0008 0008 0001                                 # destination port 1
0000 0009 000a 00000001                             # seconds
0000 000a 000a 00000002                             # microseconds
0000 000b 0007 64                                   # proto type 100
0000 000c 000a 00000001                             # capture id
0000 000f 0006                                      # empty payload, still last
`)
	got, err := AppendPacket([]byte("prefix"), p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[6:], want) {
		t.Fatalf("encoding differs\n got %x\nwant prefix+%x", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.1.2.3"), 5060)
	cases := map[string]func(p *Packet){
		"ipv4 full": func(*Packet) {},
		"ipv6 full": func(p *Packet) {
			p.Src = netip.MustParseAddrPort("[fe80::1]:1")
			p.Dst = netip.MustParseAddrPort("[2001:db8::2]:65535")
		},
		"mapped v4":    func(p *Packet) { p.Src = mapped },
		"compressed":   func(p *Packet) { p.CompressedPayload = []byte{1, 2, 3} },
		"no optionals": func(p *Packet) { p.AuthKey, p.CorrelationID, p.NodeName, p.VLAN = nil, nil, nil, 0 },
		"big payload": func(p *Packet) {
			p.Payload = bytes.Repeat([]byte("x"), MaxPacketLen-EncodedLen(&Packet{Src: p.Src, Dst: p.Dst, AuthKey: p.AuthKey, CorrelationID: p.CorrelationID, NodeName: p.NodeName, VLAN: p.VLAN}))
		},
		"zero everything": func(p *Packet) {
			*p = Packet{Src: netip.MustParseAddrPort("0.0.0.0:0"), Dst: netip.MustParseAddrPort("0.0.0.0:0")}
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			in := samplePacket4()
			mod(in)
			b, err := AppendPacket(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != EncodedLen(in) {
				t.Errorf("len %d, EncodedLen %d", len(b), EncodedLen(in))
			}
			var out Packet
			if err := Decode(b, &out); err != nil {
				t.Fatal(err)
			}
			want := *in
			unmapAddrs(&want)
			unmapAddrs(&out)
			if !packetsEqual(&out, &want) {
				t.Fatalf("round trip differs\n got %+v\nwant %+v", out, want)
			}
		})
	}
}

func packetsEqual(a, b *Packet) bool {
	return a.IPProtocol == b.IPProtocol && a.Src == b.Src && a.Dst == b.Dst &&
		a.TimeSec == b.TimeSec && a.TimeUsec == b.TimeUsec && a.ProtoType == b.ProtoType &&
		a.CaptureID == b.CaptureID && a.VLAN == b.VLAN &&
		bytes.Equal(a.AuthKey, b.AuthKey) && bytes.Equal(a.CorrelationID, b.CorrelationID) &&
		bytes.Equal(a.NodeName, b.NodeName) && bytes.Equal(a.CompressedPayload, b.CompressedPayload) &&
		bytes.Equal(a.Payload, b.Payload)
}

func TestMixedFamiliesEncodeAsIPv6(t *testing.T) {
	p := samplePacket4()
	p.Dst = netip.MustParseAddrPort("[2001:db8::2]:5060")
	b, err := AppendPacket(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	var out Packet
	if err := Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Src.Addr() != netip.MustParseAddr("::ffff:10.0.0.1") || out.Dst != p.Dst {
		t.Errorf("got %v -> %v", out.Src, out.Dst)
	}
}

func TestAppendPacketErrors(t *testing.T) {
	p := samplePacket4()
	p.Src = netip.AddrPort{}
	if _, err := AppendPacket(nil, p); !errors.Is(err, ErrFamily) {
		t.Errorf("no source: %v, want ErrFamily", err)
	}
	p = samplePacket4()
	p.Payload = make([]byte, MaxPacketLen)
	dst := []byte("keep")
	out, err := AppendPacket(dst, p)
	if !errors.Is(err, ErrTooLarge) || string(out) != "keep" {
		t.Errorf("too large: %v %q, want ErrTooLarge and dst unchanged", err, out)
	}
	p = samplePacket4()
	p.NodeName = make([]byte, MaxPacketLen)
	if _, _, err := OpenPacket(nil, p); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge chunk: %v, want ErrTooLarge", err)
	}
	b, m, err := OpenPacket(nil, samplePacket4())
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, make([]byte, MaxPacketLen)...)
	if err := ClosePacket(b, m); !errors.Is(err, ErrTooLarge) {
		t.Errorf("payload over the limit: %v, want ErrTooLarge", err)
	}
}

func TestOpenClosePacketFormatsPayloadInPlace(t *testing.T) {
	p := samplePacket4()
	b, m, err := OpenPacket(make([]byte, 0, 512), p)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "OPTIONS"...)
	if err := ClosePacket(b, m); err != nil {
		t.Fatal(err)
	}
	want, _ := AppendPacket(nil, p)
	if !bytes.Equal(b, want) {
		t.Fatalf("open/close gives\n%x\nAppendPacket gives\n%x", b, want)
	}
}

func TestEncodeDecodeDoNotAllocate(t *testing.T) {
	p := samplePacket4()
	buf := make([]byte, 0, 1024)
	var out Packet
	allocs := testing.AllocsPerRun(100, func() {
		b, err := AppendPacket(buf[:0], p)
		if err != nil {
			t.Fatal(err)
		}
		if err := Decode(b, &out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("encode+decode allocate %.1f times, want 0", allocs)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := AppendPacket(nil, samplePacket4())
	if err != nil {
		t.Fatal(err)
	}
	// Offsets in good: header 0..6, family chunk 6..13, IP protocol 13..20,
	// IPv4 source 20..30.
	patch := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	setLen := func(b []byte) []byte { b[4], b[5] = byte(len(b)>>8), byte(len(b)); return b }
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrBadMagic},
		{"hep2", patch(func(b []byte) []byte { b[3] = '2'; return b }), ErrBadMagic},
		{"eep", []byte("EEP1\x00\x06"), ErrBadMagic},
		{"header only 5 bytes", []byte("HEP3\x00"), ErrTruncated},
		{"length field too big", patch(func(b []byte) []byte { b[5]++; return b }), ErrLength},
		{"length field too small", patch(func(b []byte) []byte { b[5]--; return b }), ErrLength},
		{"extra trailing bytes", patch(func(b []byte) []byte { return append(b, 0) }), ErrLength},
		{"truncated chunk header", patch(func(b []byte) []byte { return setLen(append(b, 0, 0, 0)) }), ErrTruncated},
		{"truncated chunk body", patch(func(b []byte) []byte { return setLen(b[:len(b)-1]) }), ErrTruncated},
		{"chunk length below header", patch(func(b []byte) []byte { b[11], b[12] = 0, 5; return b }), ErrChunkSize},
		{"chunk length zero", patch(func(b []byte) []byte { b[11], b[12] = 0, 0; return b }), ErrChunkSize},
		{"2-byte proto type", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x0b, 0, 8, 0, 1)), ErrChunkSize},
		{"3-byte IPv4 address", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x03, 0, 9, 1, 2, 3)), ErrChunkSize},
		{"15-byte IPv6 address", setLen(append(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x06, 0, 21), make([]byte, 15)...)), ErrChunkSize},
		{"3-byte port", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x07, 0, 9, 1, 2, 3)), ErrChunkSize},
		{"2-byte timestamp", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x09, 0, 8, 1, 2)), ErrChunkSize},
		{"5-byte capture id", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x0c, 0, 11, 1, 2, 3, 4, 5)), ErrChunkSize},
		{"1-byte VLAN", setLen(append([]byte("HEP3\x00\x00"), 0, 0, 0, 0x12, 0, 7, 1)), ErrChunkSize},
		{"family 3", patch(func(b []byte) []byte { b[12] = 3; return b }), ErrFamily},
		{"family IPv6 with IPv4 addresses", patch(func(b []byte) []byte { b[12] = FamilyIPv6; return b }), ErrFamily},
		{"both address kinds", setLen(append(append(bytes.Clone(good), 0, 0, 0, 0x05, 0, 22), make([]byte, 16)...)), ErrFamily},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			err := Decode(c.in, &p)
			if !errors.Is(err, c.want) {
				t.Fatalf("Decode = %v, want %v", err, c.want)
			}
		})
	}
}

func TestDecodeSkipsOtherVendorsAndUnknownChunks(t *testing.T) {
	good, err := AppendPacket(nil, samplePacket4())
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(good)
	// A vendor chunk reusing type 0x0b with a 2-byte value, and an unknown
	// generic chunk 0x0d (keep-alive timer) and 0x20.
	b = append(b, 0x00, 0x21, 0x00, 0x0b, 0x00, 0x08, 0xff, 0xff)
	b = append(b, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x08, 0x00, 0x05)
	b = append(b, 0x00, 0x00, 0x00, 0x20, 0x00, 0x06)
	b[4], b[5] = byte(len(b)>>8), byte(len(b))
	var p Packet
	if err := Decode(b, &p); err != nil {
		t.Fatal(err)
	}
	if !packetsEqual(&p, samplePacket4()) {
		t.Errorf("got %+v", p)
	}
}
