package forward

import (
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// benchRig is a forwarder between a client and an upstream that both
// discard what they read, with the forwarder's side of the client's
// connection at hand to build Messages on.
type benchRig struct {
	f      *Forwarder
	tr     *transport.Transport
	addr   string
	client net.Conn
	conn   *transport.Conn // the forwarder's connection from the client

	upRead, clientRead atomic.Int64 // bytes the discarding peers read
}

// discard reads c until it fails, counting the bytes in n.
func discard(c net.Conn, n *atomic.Int64) {
	buf := make([]byte, 64<<10)
	for {
		k, err := c.Read(buf)
		n.Add(int64(k))
		if err != nil {
			return
		}
	}
}

// loop runs the benchmark loop of ServeSIP(m), which writes per bytes to
// the peer counting what it reads in sink. It paces the loop so that the
// forwarder's writes never get more than 1 MiB ahead of that peer: a flood
// with no flow control would fill the connection's write queue, which the
// transport answers by closing the connection.
func (r *benchRig) loop(b *testing.B, m *transport.Message, sink *atomic.Int64, per int64) {
	base := sink.Load()
	defer cpuPerOp(b)()
	var sent int64
	for b.Loop() {
		r.f.ServeSIP(m)
		sent += per
		if sent-(sink.Load()-base) <= 1<<20 {
			continue
		}
		deadline := time.Now().Add(wait)
		for sent-(sink.Load()-base) > 1<<20 {
			if time.Now().After(deadline) {
				b.Fatalf("the peer is %d bytes behind: %+v", sent-(sink.Load()-base), r.f.Stats())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	r := &benchRig{}
	upRead := &r.upRead
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go discard(c, upRead)
		}
	}()
	f, err := New(Config{Upstream: "sip:" + l.Addr().String(), RecordRoute: true})
	if err != nil {
		b.Fatal(err)
	}
	tr := transport.New(transport.Options{}, f)
	b.Cleanup(func() { tr.Close() })
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Attach(tr); err != nil {
		b.Fatal(err)
	}
	client, err := net.Dial("tcp", addr.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	r.f, r.tr, r.addr, r.client = f, tr, addr.String(), client
	// One request through the real path opens the upstream connection.
	if _, err := client.Write([]byte(benchInvite(r.addr))); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for r.f.Stats().RequestsForwarded == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.conn = tr.ConnByRemote(client.LocalAddr().(*net.TCPAddr).AddrPort())
	if r.conn == nil || r.f.Stats().RequestsForwarded != 1 {
		b.Fatalf("set-up failed: %+v", r.f.Stats())
	}
	go discard(client, &r.clientRead)
	return r
}

// benchInvite is an INVITE as SIPp's uac sends it.
func benchInvite(fwd string) string {
	return sipMsg("v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		"INVITE sip:service@"+fwd+" SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK-1234-1-0;rport",
		"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1234SIPpTag001",
		"To: service <sip:service@"+fwd+">",
		"Call-ID: 1-1234@127.0.0.1",
		"CSeq: 1 INVITE",
		"Contact: sip:sipp@127.0.0.1:5061",
		"Max-Forwards: 70",
		"Subject: Performance Test",
		"Content-Type: application/sdp")
}

// message frames raw as the transport would and attaches conn.
func message(b *testing.B, raw string, conn *transport.Conn) *transport.Message {
	b.Helper()
	var fr framing.Framer
	var res framing.Result
	fr.Next([]byte(raw), &res)
	if res.Kind != framing.Message {
		b.Fatalf("not a message: %v", res.Err)
	}
	return &transport.Message{Frame: res.Frame, Conn: conn}
}

// BenchmarkRewriteRequest: the rewriting of an INVITE alone (parse, next
// hop, Via, Record-Route, Max-Forwards, rport/received, splice).
func BenchmarkRewriteRequest(b *testing.B) {
	r := newBenchRig(b)
	m := message(b, benchInvite(r.addr), r.conn)
	a := r.f.att.Load()
	buf := make([]byte, 0, bufSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Data)))
	defer cpuPerOp(b)()
	for b.Loop() {
		var hop nextHop
		buf = r.f.rewrite(m, a, buf[:0], &hop)
		if hop.code != 0 || !hop.dst.IsValid() {
			b.Fatal("not forwarded")
		}
	}
}

// BenchmarkForwardRequest: ServeSIP of an INVITE from a client, written to
// the upstream's open connection (one write(2) included).
func BenchmarkForwardRequest(b *testing.B) {
	r := newBenchRig(b)
	m := message(b, benchInvite(r.addr), r.conn)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Data)))
	var hop nextHop
	out := r.f.rewrite(m, r.f.att.Load(), nil, &hop)
	r.loop(b, m, &r.upRead, int64(len(out)))
	if s := r.f.Stats(); s.SendErrors != 0 {
		b.Fatalf("stats %+v", s)
	}
}

// BenchmarkForwardResponse: ServeSIP of a 200 from the upstream, sent to
// the client's connection by the cid of sipwire's Via (one write(2)).
func BenchmarkForwardResponse(b *testing.B) {
	r := newBenchRig(b)
	fwd := r.f.att.Load()
	var hop nextHop
	req := string(r.f.rewrite(message(b, benchInvite(r.addr), r.conn), fwd, nil, &hop))
	resp := answer(req, "200 OK")
	resp = strings.Replace(resp, "Content-Length: 0", "Contact: <sip:service@127.0.0.1:5070;transport=TCP>\r\nContent-Length: 0", 1)
	m := message(b, resp, r.conn)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Data)))
	ours := resp[strings.Index(resp, "Via: "):]
	ours = ours[:strings.Index(ours, "\r\n")+2]
	r.loop(b, m, &r.clientRead, int64(len(resp)-len(ours)))
	if s := r.f.Stats(); s.ResponsesForwarded == 0 || s.DroppedResponses != (DroppedResponses{}) {
		b.Fatalf("stats %+v", s)
	}
}

// cpuPerOp reports the process's CPU time (user and system) per operation
// as "cpu-ns/op", which a loaded, shared machine inflates less than the
// wall-clock ns/op. Call the function it returns when the loop is done.
// The process's other goroutines (the discarding peers' reads) count too.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
