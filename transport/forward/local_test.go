package forward

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"

	"github.com/sipwire/sipwire/deploy/testtool"
)

func TestNoUpstream(t *testing.T) {
	r := newRig(t, Config{}, transport.Options{})
	client := dialPeer(t, r.addr)
	client.send(sipMsg("",
		"OPTIONS sip:anyone@example.com SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-n1",
		"From: <sip:a@example.com>;tag=1",
		"To: <sip:anyone@example.com>",
		"Call-ID: n1@test",
		"CSeq: 1 OPTIONS"))
	if got := startLine(client.recv()); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS: %q", got)
	}
	client.send(sipMsg("", "ACK sip:x@example.com SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-n2",
		"From: <sip:a@example.com>;tag=1", "To: <sip:x@example.com>;tag=2",
		"Call-ID: n2@test", "CSeq: 1 ACK"))
	client.send(answer(invite("n3", "127.0.0.1:5061"), "200 OK"))
	client.send(invite("n4", "127.0.0.1:5061"))
	got := client.recv()
	if startLine(got) != "SIP/2.0 501 Not Implemented" || header(got, "Call-ID") != "n4@test" {
		t.Fatalf("INVITE:\n%s", got)
	}
	s := r.f.Stats()
	if s.Forwarding || s.OptionsAnswered != 1 || s.NotImplemented != 1 || s.DroppedRequests.ACK != 1 || s.DroppedResponses.ForwardingOff != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	r := newRig(t, Config{Upstream: "sip:" + unusedPort(t)}, transport.Options{})
	client := dialPeer(t, r.addr)
	client.send(invite("u1", "127.0.0.1:5061"))
	got := client.recv()
	if startLine(got) != "SIP/2.0 503 Service Unavailable" || header(got, "Call-ID") != "u1@test" {
		t.Fatalf("got\n%s", got)
	}
	r.sync(client)
	if s := r.f.Stats(); s.SendErrors != 1 || s.Unavailable != 1 || s.RequestsForwarded != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestUpstreamUnreachableLater: the connect outlasts
// tcp_async_local_connect_timeout and fails in the background; the 503
// comes from Send's notify callback.
func TestUpstreamUnreachableLater(t *testing.T) {
	up := stalledListener(t)
	r := newRig(t, Config{Upstream: "sip:" + up.String()}, transport.Options{ConnectTimeout: 300 * time.Millisecond, LocalConnectTimeout: time.Millisecond})
	client := dialPeer(t, r.addr)
	client.send(invite("u2", "127.0.0.1:5061"))
	got := client.recv()
	if startLine(got) != "SIP/2.0 503 Service Unavailable" || header(got, "Call-ID") != "u2@test" {
		t.Fatalf("got\n%s", got)
	}
	// The callback counts after writing the 503: wait for it (bounded).
	deadline := time.Now().Add(wait)
	for r.f.Stats().Unavailable == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s := r.f.Stats(); s.SendErrors != 1 || s.Unavailable != 1 || s.RequestsForwarded != 1 {
		t.Fatalf("stats %+v (the request went to a background connect, which failed)", s)
	}
}

// stalledListener returns the address of a listener on 127.0.0.1 whose
// accept queue is full, so that a connect to it hangs (the kernel drops
// the SYN).
func stalledListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	for range 8 {
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	testtool.Unavailable(t, "a full accept queue (8 connects to a backlog-0 listener all succeeded)", "a Linux kernel that drops SYNs to a listener whose accept queue is full")
	return addr
}

func TestNotAttached(t *testing.T) {
	f, err := New(Config{Upstream: "sip:127.0.0.1:5070"})
	if err != nil {
		t.Fatal(err)
	}
	tr := transport.New(transport.Options{}, f)
	defer tr.Close()
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client := dialPeer(t, addr)
	client.send(invite("na", "127.0.0.1:5061"))
	if got := startLine(client.recv()); got != "SIP/2.0 503 Service Unavailable" {
		t.Fatalf("got %q", got)
	}
	if err := f.Attach(tr); err != nil {
		t.Fatal(err)
	}
	if err := f.Attach(tr); !errors.Is(err, ErrAttached) {
		t.Fatalf("second Attach: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, up := range []string{
		"http://127.0.0.1",
		"sips:127.0.0.1",
		"sip:127.0.0.1;transport=udp",
		"sip:[::1",
		"sip:127.0.0.1:0",
		"sip:127.0.0.1:70000",
		"sip:",
		"sip:no-such-host.invalid",
	} {
		if _, err := New(Config{Upstream: up}); !errors.Is(err, ErrBadUpstream) {
			t.Errorf("%q: %v, want ErrBadUpstream", up, err)
		}
	}
	for up, want := range map[string]netip.AddrPort{
		"sip:127.0.0.1":                         netip.MustParseAddrPort("127.0.0.1:5060"),
		"sip:user@127.0.0.1:5070;transport=TCP": netip.MustParseAddrPort("127.0.0.1:5070"),
		"SIP:[::1]:5071":                        netip.MustParseAddrPort("[::1]:5071"),
		"sip:localhost:5072":                    netip.AddrPortFrom(netip.IPv4Unspecified(), 5072),
	} {
		f, err := New(Config{Upstream: up})
		if err != nil {
			t.Errorf("%q: %v", up, err)
			continue
		}
		got := f.upstream
		if want.Addr().IsUnspecified() {
			got = netip.AddrPortFrom(netip.IPv4Unspecified(), got.Port()) // any address localhost resolves to
		}
		if got != want {
			t.Errorf("%q: upstream %s, want %s", up, f.upstream, want)
		}
	}
	if _, err := New(Config{Upstream: "sip:127.0.0.1:5070", Advertise: netip.MustParseAddrPort("127.0.0.1:5070")}); !errors.Is(err, ErrLoop) {
		t.Errorf("upstream = advertise: %v", err)
	}
	f, err := New(Config{Upstream: "sip:127.0.0.1:5070"})
	if err != nil {
		t.Fatal(err)
	}
	tr := transport.New(transport.Options{}, f)
	defer tr.Close()
	if err := f.Attach(tr); !errors.Is(err, ErrNoAdvertise) {
		t.Errorf("Attach with no listener: %v", err)
	}
}
