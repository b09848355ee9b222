package forward

import (
	"net/netip"
	"testing"
)

func TestAdvertiseFromWildcardListener(t *testing.T) {
	wild := netip.MustParseAddrPort("0.0.0.0:5062")
	f, err := New(Config{Upstream: "sip:127.0.0.1:5070;transport=tcp"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.advertiseFrom([]netip.AddrPort{wild}); got != netip.MustParseAddrPort("127.0.0.1:5062") {
		t.Fatalf("with an upstream on loopback: %v", got)
	}
	off, _ := New(Config{})
	if got := off.advertiseFrom([]netip.AddrPort{wild}); got != netip.MustParseAddrPort("127.0.0.1:5062") {
		t.Fatalf("without an upstream: %v", got)
	}
	specific := netip.MustParseAddrPort("127.0.0.2:5060")
	if got := f.advertiseFrom([]netip.AddrPort{wild, specific}); got != specific {
		t.Fatalf("a specific listener comes first: %v", got)
	}
	if got := f.advertiseFrom(nil); got.IsValid() {
		t.Fatalf("no listener: %v", got)
	}
}
