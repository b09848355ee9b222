package forward

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// wait bounds every wait of a test for something the network should bring.
const wait = 10 * time.Second

// sipMsg joins header lines with CRLF and adds Content-Length and body.
func sipMsg(body string, lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// peer is a raw SIP-over-TCP end of a test connection: a client of the
// forwarder, or a connection accepted by a fake upstream.
type peer struct {
	t    testing.TB
	c    net.Conn
	msgs chan string
}

func newPeer(t testing.TB, c net.Conn) *peer {
	p := &peer{t: t, c: c, msgs: make(chan string, 256)}
	t.Cleanup(func() { c.Close() })
	go p.read()
	return p
}

func (p *peer) read() {
	defer close(p.msgs)
	var fr framing.Framer
	var r framing.Result
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 16<<10)
	for {
		n, err := p.c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			fr.Next(buf, &r)
			if r.Kind == framing.NeedMore || r.Kind == framing.Error {
				break
			}
			if r.Kind == framing.Message {
				p.msgs <- string(r.Frame.Data)
			}
			buf = append(buf[:0], buf[r.N:]...)
		}
		if err != nil {
			return
		}
	}
}

func dialPeer(t testing.TB, addr netip.AddrPort) *peer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	return newPeer(t, c)
}

func (p *peer) send(msg string) {
	p.t.Helper()
	if _, err := p.c.Write([]byte(msg)); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next message the peer received.
func (p *peer) recv() string {
	p.t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			p.t.Fatal("connection closed while waiting for a message")
		}
		return m
	case <-time.After(wait):
		p.t.Fatalf("no message within %s", wait)
	}
	return ""
}

func (p *peer) local() netip.AddrPort { return p.c.LocalAddr().(*net.TCPAddr).AddrPort() }

// server is a fake SIP server on 127.0.0.1: it hands over every connection
// it accepts as a peer.
type server struct {
	t     testing.TB
	l     net.Listener
	addr  netip.AddrPort
	conns chan *peer
}

func newServer(t testing.TB) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, l: l, addr: l.Addr().(*net.TCPAddr).AddrPort(), conns: make(chan *peer, 16)}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns <- newPeer(t, c)
		}
	}()
	return s
}

// accept returns the next connection the server accepted.
func (s *server) accept() *peer {
	s.t.Helper()
	select {
	case p := <-s.conns:
		return p
	case <-time.After(wait):
		s.t.Fatalf("no connection to %s within %s", s.addr, wait)
	}
	return nil
}

// rig is a Forwarder on a transport listening on 127.0.0.1 and a fake
// upstream.
type rig struct {
	t    testing.TB
	f    *Forwarder
	tr   *transport.Transport
	addr netip.AddrPort
	up   *server

	syncs int
}

// newRig starts a forwarder; cfg.Upstream "up" means the rig's fake
// upstream.
func newRig(t testing.TB, cfg Config, opts transport.Options) *rig {
	t.Helper()
	r := &rig{t: t}
	if cfg.Upstream == "up" {
		r.up = newServer(t)
		cfg.Upstream = "sip:" + r.up.addr.String() + ";transport=tcp"
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.f = f
	r.tr = transport.New(opts, f)
	r.addr, err = r.tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Attach(r.tr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		r.tr.Shutdown(ctx)
	})
	return r
}

// fwd is the forwarder's address as text.
func (r *rig) fwd() string { return r.addr.String() }

// connID is the id of the forwarder's connection from p.
func (r *rig) connID(p *peer) string {
	r.t.Helper()
	c := r.tr.ConnByRemote(p.local())
	if c == nil {
		r.t.Fatalf("no connection from %s", p.local())
	}
	return strconv.FormatUint(c.ID(), 10)
}

// sync waits until the forwarder handled everything p sent before: a
// connection's messages are handled in order, so the answer to an OPTIONS
// to sipwire comes after them.
func (r *rig) sync(p *peer) {
	r.t.Helper()
	r.syncs++
	id := "sync-" + strconv.Itoa(r.syncs)
	self := r.f.att.Load().adv.String()
	p.send(sipMsg("",
		"OPTIONS sip:"+self+" SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-"+id,
		"From: <sip:sync@127.0.0.1>;tag="+id,
		"To: <sip:"+self+">",
		"Call-ID: "+id,
		"CSeq: 1 OPTIONS"))
	for range 64 {
		m := p.recv()
		if header(m, "Call-ID") == id {
			return
		}
	}
	r.t.Fatalf("no answer to %s", id)
}

var branchRE = regexp.MustCompile(`branch=(z9hG4bKsw[0-9a-f]{16});cid=`)

// ourBranch returns the branch of sipwire's Via in a forwarded request.
func ourBranch(t testing.TB, msg string) string {
	t.Helper()
	m := branchRE.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no sipwire branch in\n%s", msg)
	}
	return m[1]
}

// header returns the first value of a header of msg (exact name).
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
}

// startLine returns the first line of msg.
func startLine(msg string) string {
	l, _, _ := strings.Cut(msg, "\r\n")
	return l
}

// expectEqual compares two messages line by line.
func expectEqual(t testing.TB, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("message differs\n--- got:\n%s\n--- want:\n%s", strings.ReplaceAll(got, "\r\n", "\n"), strings.ReplaceAll(want, "\r\n", "\n"))
	}
}
