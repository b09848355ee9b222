package hep

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/framing"
)

// answerOptions answers OPTIONS with 200.
func answerOptions(m *transport.Message) {
	if m.IsRequest && string(m.Method) == "OPTIONS" {
		m.Conn.WriteMessage(framing.AppendResponse(nil, &m.Frame, 200, "OK"), m.CallID)
	}
}

func optionsRequest(callID string, cseq int) string {
	return "OPTIONS sip:sipwire@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-" + callID + fmt.Sprint(cseq) + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:sipwire@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: " + fmt.Sprint(cseq) + " OPTIONS\r\nContent-Length: 0\r\n\r\n"
}

// startTracedTransport runs a transport with tracing on, wired to tr the way
// cmd/sipwire wires it.
func startTracedTransport(t testing.TB, tr *Tracer, traceOn bool) netip.AddrPort {
	t.Helper()
	tp := transport.New(transport.Options{TraceOn: traceOn}, transport.HandlerFunc(answerOptions))
	if tr != nil {
		tp.AddObserver(tr, transport.TracedEvents)
	}
	addr, err := tp.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		tp.Shutdown(ctx)
	})
	return addr
}

// readResponse reads one response (no body) from r.
func readResponse(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return sb.String(), err
		}
		sb.WriteString(line)
		if line == "\r\n" {
			return sb.String(), nil
		}
	}
}

// TestEndToEndWithTransport: a real transport, an OPTIONS over a real TCP
// connection, and the HEP packets a collector receives for it.
func TestEndToEndWithTransport(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, NodeName: "sipwire"})
	addr := startTracedTransport(t, tr, true)
	c, err := net.DialTimeout("tcp", addr.String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	client := netip.MustParseAddrPort(c.LocalAddr().String())
	req := optionsRequest("e2e-call@probe", 1)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := readResponse(bufio.NewReader(c))
	if err != nil || !strings.HasPrefix(resp, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("response %q, %v", resp, err)
	}
	c.Close()

	type key struct {
		proto      ProtoType
		event      string
		corr       string
		fromClient bool
	}
	got := map[key]Packet{}
	var connID string
	for len(got) < 6 {
		p := col.next(t)
		k := key{proto: p.ProtoType, corr: string(p.CorrelationID), fromClient: p.Src == client}
		if p.ProtoType == ProtoLog {
			h := decodeHomer(t, &p)
			k.event = h.Event
			connID = fmt.Sprint(h.ConnID)
			if h.Local != addr.String() || h.Remote != client.String() || h.Direction != "in" {
				t.Errorf("event %s: local %s remote %s direction %s", h.Event, h.Local, h.Remote, h.Direction)
			}
		}
		if _, dup := got[k]; dup {
			t.Fatalf("packet %+v sent twice", k)
		}
		got[k] = p
		if p.Src.Port() == 0 || p.Dst.Port() == 0 || string(p.NodeName) != "sipwire" {
			t.Errorf("packet %+v: %v -> %v node %q", k, p.Src, p.Dst, p.NodeName)
		}
	}
	want := []struct {
		k        key
		src, dst netip.AddrPort
	}{
		{key{ProtoLog, "ACCEPTED", connID, true}, client, addr},
		{key{ProtoLog, "ACCEPTED", "e2e-call@probe", true}, client, addr},
		{key{ProtoSIP, "", "e2e-call@probe", true}, client, addr},
		{key{ProtoSIP, "", "e2e-call@probe", false}, addr, client},
		{key{ProtoLog, "CLOSED", connID, true}, client, addr},
		{key{ProtoLog, "CLOSED", "e2e-call@probe", true}, client, addr},
	}
	for _, w := range want {
		p, ok := got[w.k]
		if !ok {
			t.Errorf("no packet %+v; got %v", w.k, keysOf(got))
			continue
		}
		if p.Src != w.src || p.Dst != w.dst {
			t.Errorf("%+v: %v -> %v, want %v -> %v", w.k, p.Src, p.Dst, w.src, w.dst)
		}
	}
	if p := got[key{ProtoSIP, "", "e2e-call@probe", true}]; string(p.Payload) != req {
		t.Errorf("request payload %q, want the exact bytes sent", p.Payload)
	}
	if p := got[key{ProtoSIP, "", "e2e-call@probe", false}]; !strings.HasPrefix(string(p.Payload), "SIP/2.0 200 OK\r\n") {
		t.Errorf("response payload %q", p.Payload)
	}
	st := tr.Stats()[0]
	if st.Drops.Total() != 0 {
		t.Errorf("drops: %+v", st.Drops)
	}
}

func keysOf[K comparable, V any](m map[K]V) []K {
	var ks []K
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// BenchmarkOptionsRoundTrip: OPTIONS round trips over one connection with
// tracing off, and with tracing on and every event and message sent as HEP
// to a UDP sink. The ratio of the two is the cost of HEP on SIP traffic.
func BenchmarkOptionsRoundTrip(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "hep-off"
		if on {
			name = "hep-on"
		}
		b.Run(name, func(b *testing.B) {
			var tr *Tracer
			if on {
				var err error
				tr, err = New(Config{Destinations: []Destination{newUDPSink(b)}, Logger: quietLogger(), QueueSize: 1 << 16, QueueBytes: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				defer closeTracer(b, tr)
			}
			addr := startTracedTransport(b, tr, on)
			c, err := net.DialTimeout("tcp", addr.String(), testTimeout)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			req := []byte(optionsRequest("bench-call@probe", 1))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := readResponse(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rt/s")
			if tr != nil {
				b.StopTimer()
				st := tr.Stats()[0]
				b.ReportMetric(float64(st.Drops.Total()), "hep-drops")
			}
		})
	}
}
