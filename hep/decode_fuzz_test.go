package hep

import (
	"net/netip"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic, and a
// packet it accepts must survive a re-encode and decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, p := range []*Packet{samplePacket4(), {
		IPProtocol: IPProtoUDP,
		Src:        netip.MustParseAddrPort("[2001:db8::1]:9060"),
		Dst:        netip.MustParseAddrPort("[::1]:1"),
		ProtoType:  ProtoLog,
		Payload:    []byte(`{"Event":"ACCEPTED"}`),
	}} {
		b, err := AppendPacket(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("HEP3\x00\x06"))
	f.Add([]byte("HEP3\x00\x0c\x00\x00\x00\x0b\x00\x06"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := Decode(b, &p); err != nil {
			return
		}
		if !p.Src.Addr().IsValid() || !p.Dst.Addr().IsValid() {
			return
		}
		out, err := AppendPacket(nil, &p)
		if err != nil {
			if EncodedLen(&p) <= MaxPacketLen {
				t.Fatalf("re-encode of a decoded packet failed: %v", err)
			}
			return
		}
		var q Packet
		if err := Decode(out, &q); err != nil {
			t.Fatalf("decode of re-encoded packet: %v", err)
		}
		unmapAddrs(&p)
		unmapAddrs(&q)
		if !packetsEqual(&p, &q) {
			t.Fatalf("re-encode changed the packet\n was %+v\n now %+v", p, q)
		}
	})
}

func unmapAddrs(p *Packet) {
	p.Src = netip.AddrPortFrom(p.Src.Addr().Unmap(), p.Src.Port())
	p.Dst = netip.AddrPortFrom(p.Dst.Addr().Unmap(), p.Dst.Port())
}
