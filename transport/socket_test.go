package transport

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/deploy/testtool"
)

func TestParseSocket(t *testing.T) {
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{"tcp:127.0.0.1:5070", "127.0.0.1:5070", false},
		{"tcp:127.0.0.1", "127.0.0.1:5060", false},
		{"TCP:10.0.0.1:1", "10.0.0.1:1", false},
		{"127.0.0.1:5080", "127.0.0.1:5080", false},
		{"tcp:[::1]:5070", "[::1]:5070", false},
		{"tcp:[::1]", "[::1]:5060", false},
		{"tcp:::1", "[::1]:5060", false},
		{"tcp:[::ffff:127.0.0.1]:5", "127.0.0.1:5", false},
		{"udp:127.0.0.1:5060", "", true},
		{"tcp:", "", true},
		{"tcp:localhost:5060", "", true},
		{"tcp:127.0.0.1:70000", "", true},
		{"tcp:[::1", "", true},
		{"tcp:[::1]x", "", true},
	}
	for _, tc := range cases {
		got, err := ParseSocket(tc.in, 5060)
		if tc.err {
			if !errors.Is(err, ErrBadSocket) {
				t.Errorf("%q: err %v, want ErrBadSocket", tc.in, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%q: got %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestListenerWithoutPortUsesTCPPort(t *testing.T) {
	port := freePort(t)
	tr := New(Options{Port: int(port)}, HandlerFunc(echoOptions))
	defer tr.Close()
	ap, err := tr.Listen("tcp:127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if ap.Port() != port {
		t.Fatalf("listening on %v, want port %d", ap, port)
	}
	if d, _ := tr.ResolveDest("127.0.0.2"); d.Port() != port {
		t.Fatalf("destination without port got %v", d)
	}
}

func TestIPv6AndSeveralListeners(t *testing.T) {
	tr := New(Options{}, HandlerFunc(echoOptions))
	defer tr.Close()
	v4, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v6, err := tr.Listen("tcp:[::1]:0")
	if err != nil {
		testtool.Unavailable(t, "an IPv6 loopback ("+err.Error()+")", "enable IPv6 on lo: sysctl net.ipv6.conf.lo.disable_ipv6=0")
	}
	for _, ap := range []netip.AddrPort{v4, v6} {
		c, err := net.Dial("tcp", ap.String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(optionsReq))
		resp := readResponse(t, bufio.NewReader(c))
		c.Close()
		if !strings.HasPrefix(resp, "SIP/2.0 200") {
			t.Fatalf("%v: %q", ap, resp)
		}
	}
	if n := len(tr.Listeners()); n != 2 {
		t.Fatalf("%d listeners", n)
	}
}

func TestOutboundCountsTowardMaxConnections(t *testing.T) {
	peer := newHarness(t, Options{}, nil)
	client := newHarness(t, Options{MaxConnections: 1}, nil)
	client.dial() // one inbound connection fills the table
	if e := client.next(); e.Kind != EventAccepted {
		t.Fatal(e)
	}
	err := client.tr.Send(peer.addr, []byte(optionsReq), nil)
	if !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("err %v", err)
	}
	if e := client.next(); e.Kind != EventConnectFailed || e.Status != StatusFailure || e.Remote != peer.addr {
		t.Fatalf("event %+v", e)
	}
}
