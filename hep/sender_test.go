package hep

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func sipMessage(callID, tag string, bodyLen int) []byte {
	body := strings.Repeat("b", bodyLen)
	return []byte(fmt.Sprintf("MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2:40001;branch=z9hG4bK%s\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.2>;tag=%s\r\nTo: <sip:bob@127.0.0.1>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", tag, tag, callID, bodyLen, body))
}

func tapped(callID, tag string, bodyLen int) *transport.TracedMessage {
	return &transport.TracedMessage{
		Conn:      transport.ConnInfo{ID: 5, Direction: transport.Inbound, Local: evLocal, Remote: evPeer},
		Direction: transport.Received,
		Time:      evTime,
		Data:      sipMessage(callID, tag, bodyLen),
		CallID:    []byte(callID),
	}
}

func TestMessageTap(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, Format: FormatOpenSIPS, CaptureID: 9, NodeName: "nn"})
	in := tapped("cid-1@h", "in", 10)
	tr.TapMessage(in)
	out := tapped("cid-1@h", "out", 0)
	out.Direction = transport.Sent
	tr.TapMessage(out)
	for _, c := range []struct {
		m        *transport.TracedMessage
		src, dst netip.AddrPort
	}{{in, evPeer, evLocal}, {out, evLocal, evPeer}} {
		p := col.next(t)
		want := Packet{
			IPProtocol: IPProtoTCP, Src: c.src, Dst: c.dst, TimeSec: uint32(evTime.Unix()), TimeUsec: 123456,
			ProtoType: ProtoSIP, CaptureID: 9, CorrelationID: []byte("cid-1@h"), NodeName: []byte("nn"), Payload: c.m.Data,
		}
		if !packetsEqual(&p, &want) {
			t.Fatalf("got  %+v\nwant %+v", p, want)
		}
	}
	if c := tr.Counters(); c.Messages != 2 || c.Events != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestDisableMessages(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, Format: FormatOpenSIPS, DisableMessages: true})
	tr.TapMessage(tapped("x", "1", 0))
	e := acceptedEvent(1)
	tr.HandleEvent(&e)
	if p := col.next(t); p.ProtoType != ProtoNet {
		t.Fatalf("first packet has proto type %d: the message was sent", p.ProtoType)
	}
}

func TestMessageTooLarge(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, Format: FormatOpenSIPS})
	// Fits HEP's 16-bit length but not one UDP datagram.
	base, err := tr.appendMessage(nil, tapped("big", "udp", 0))
	if err != nil {
		t.Fatal(err)
	}
	big := tapped("big", "udp", MaxPacketLen-10-len(base))
	if n, _ := tr.appendMessage(nil, big); len(n) <= MaxDatagramLen || len(n) > MaxPacketLen {
		t.Fatalf("test message is %d bytes", len(n))
	}
	tr.TapMessage(big)
	// Does not fit HEP at all.
	tr.TapMessage(tapped("huge", "hep", MaxPacketLen))
	tr.TapMessage(tapped("small", "ok", 0))
	if p := col.next(t); string(p.CorrelationID) != "small" {
		t.Fatalf("got %q", p.CorrelationID)
	}
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == 1 })
	st := tr.Stats()[0]
	if st.Drops.TooLarge != 2 || st.PacketsSent != 1 {
		t.Errorf("stats %+v, want 2 too_large drops and 1 packet sent", st)
	}
	if c := tr.Counters(); c.EncodeFailures != 1 {
		t.Errorf("counters %+v, want 1 encode failure", c)
	}
}

func streamDest(name string, port int, tr Transport) Destination {
	return Destination{Name: name, Host: "127.0.0.1", Port: port, Transport: tr, Version: 3}
}

func TestTCPSender(t *testing.T) {
	col := newStreamCollector(t, "127.0.0.1:0", nil)
	tr := newTestTracer(t, Config{Destinations: []Destination{streamDest("tcp", col.port(), TCP)}})
	const n = 2000
	var bytes uint64
	for i := range n {
		m := tapped(fmt.Sprintf("call-%d", i), "t", i%300)
		tr.TapMessage(m)
	}
	for i := range n {
		p := recvPacket(t, col.ch)
		if p.ProtoType == ProtoLog {
			// Tapped directly, no message is marked new on its connection
			// (TracedMessage.NewCall): no open event is repeated.
			t.Fatalf("unexpected LOG packet %s", p.Payload)
		}
		want := fmt.Sprintf("call-%d", i)
		if string(p.CorrelationID) != want || string(p.Payload) != string(sipMessage(want, "t", i%300)) {
			t.Fatalf("packet %d: correlation %q", i, p.CorrelationID)
		}
		b, _ := AppendPacket(nil, &p)
		bytes += uint64(len(b))
	}
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == n })
	st := tr.Stats()[0]
	if st.PacketsSent != n || st.BytesSent != bytes || st.Drops.Total() != 0 || !st.Connected || st.Reconnects != 0 {
		t.Errorf("stats %+v, want %d packets, %d bytes, no drops", st, n, bytes)
	}
}

// writeTestCA creates a CA, a server certificate for 127.0.0.1 signed by
// it, and returns the server's TLS config and the CA's PEM file.
func writeTestCA(t testing.TB) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sipwire test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "collector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}
	return cfg, file
}

func TestTLSSender(t *testing.T) {
	srvCfg, caFile := writeTestCA(t)
	col := newStreamCollector(t, "127.0.0.1:0", srvCfg)
	tr := newTestTracer(t, Config{Destinations: []Destination{streamDest("tls", col.port(), TLS)}, TLSCAFile: caFile})
	for i := range 100 {
		tr.TapMessage(tapped(fmt.Sprintf("tls-%d", i), "t", 10))
	}
	for i := range 100 {
		if p := recvPacket(t, col.ch); string(p.CorrelationID) != fmt.Sprintf("tls-%d", i) {
			t.Fatalf("packet %d: %q", i, p.CorrelationID)
		}
	}
	waitFor(t, "the sent counter", func() bool { return tr.Stats()[0].PacketsSent == 100 })
	if st := tr.Stats()[0]; st.Transport != "tls" || !st.Connected {
		t.Errorf("stats %+v", st)
	}
}

func TestTLSSenderUntrustedCollector(t *testing.T) {
	srvCfg, _ := writeTestCA(t)
	_, otherCA := writeTestCA(t)
	col := newStreamCollector(t, "127.0.0.1:0", srvCfg)
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("tls", col.port(), TLS)}, TLSCAFile: otherCA,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	})
	waitFor(t, "failed TLS connects", func() bool { return tr.Stats()[0].ConnectFailures >= 3 })
	tr.TapMessage(tapped("x", "t", 0))
	waitFor(t, "the packet to be dropped", func() bool { return tr.Stats()[0].Drops.NotConnected >= 1 })
	if st := tr.Stats()[0]; st.PacketsSent != 0 || st.Connected {
		t.Errorf("stats %+v: sent to an untrusted collector", st)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	tlsDest := []Destination{streamDest("t", 9, TLS)}
	for name, cfg := range map[string]Config{
		"no destination":   {},
		"version 2":        {Destinations: []Destination{{Name: "x", Host: "h", Port: 1, Version: 2}}},
		"no port":          {Destinations: []Destination{{Name: "x", Host: "h", Version: 3}}},
		"missing CA file":  {Destinations: tlsDest, TLSCAFile: filepath.Join(dir, "none.pem")},
		"CA file not PEM":  {Destinations: tlsDest, TLSCAFile: bad},
		"backoff inverted": {Destinations: tlsDest, BackoffMin: time.Second, BackoffMax: time.Millisecond},
		"unknown format":   {Destinations: tlsDest, Format: 9},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	for _, s := range []string{"homer", "opensips"} {
		if f, err := ParseFormat(s); err != nil || f.String() != s {
			t.Errorf("ParseFormat(%q) = %v, %v", s, f, err)
		}
	}
	for _, s := range []string{"json", "text"} {
		if f, err := ParsePayloadStyle(s); err != nil || f.String() != s {
			t.Errorf("ParsePayloadStyle(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("pcap"); !errors.Is(err, ErrConfig) {
		t.Error("ParseFormat accepted pcap")
	}
	if _, err := ParsePayloadStyle("xml"); !errors.Is(err, ErrConfig) {
		t.Error("ParsePayloadStyle accepted xml")
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestTCPCollectorDownThenBack: with the collector down, tapping never
// blocks, the queue stays within its bounds, memory stays flat and the
// losses are counted; when the collector comes up, sending resumes; when it
// restarts, the sender reconnects.
func TestTCPCollectorDownThenBack(t *testing.T) {
	port := freePort(t)
	const queue = 64
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("down", port, TCP)},
		QueueSize:    queue, QueueBytes: 64 << 10,
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond,
	})
	before := heapInUse()
	const offered = 50000
	for i := range offered {
		tr.TapMessage(tapped("down", "d", 500))
		if i%1000 == 0 {
			st := tr.Stats()[0]
			if st.QueueLen > queue || st.QueueBytes > st.QueueBytesCap {
				t.Fatalf("queue over its bounds: %+v", st)
			}
		}
	}
	waitFor(t, "a few failed connects", func() bool { return tr.Stats()[0].ConnectFailures >= 3 })
	if grew := int64(heapInUse()) - int64(before); grew > 16<<20 {
		t.Errorf("heap grew by %d bytes with the collector down", grew)
	}
	st := tr.Stats()[0]
	if st.PacketsSent != 0 || st.Connected || st.Drops.QueueFull == 0 || st.Drops.NotConnected == 0 {
		t.Errorf("stats while down %+v, want drops for queue_full and not_connected", st)
	}
	if got := st.Drops.Total() + uint64(st.QueueLen); got > offered {
		t.Errorf("counted %d drops+queued of %d offered", got, offered)
	}

	col := newStreamCollector(t, fmt.Sprintf("127.0.0.1:%d", port), nil)
	waitFor(t, "the sender to connect", func() bool { return tr.Stats()[0].Connected })
	sendAndReceive(t, tr, col, "after-up")
	if st := tr.Stats()[0]; st.Reconnects != 0 {
		t.Errorf("first connect counted as a reconnect: %+v", st)
	}

	col.close()
	waitFor(t, "the sender to notice", func() bool { return !tr.Stats()[0].Connected })
	col = newStreamCollector(t, fmt.Sprintf("127.0.0.1:%d", port), nil)
	waitFor(t, "the sender to reconnect", func() bool { st := tr.Stats()[0]; return st.Connected && st.Reconnects == 1 })
	sendAndReceive(t, tr, col, "after-restart")

	closeTracer(t, tr)
	st = tr.Stats()[0]
	if total := st.PacketsSent + st.Drops.Total(); total != offered+2*20 {
		t.Errorf("sent %d + dropped %d = %d, want every one of %d offered packets accounted for", st.PacketsSent, st.Drops.Total(), total, offered+2*20)
	}
}

// sendAndReceive taps a few messages tagged prefix-i, fewer than the queue
// holds, and checks that the collector receives them in order (after
// anything queued earlier) and that none was dropped.
func sendAndReceive(t *testing.T, tr *Tracer, col *streamCollector, prefix string) {
	t.Helper()
	const n = 20
	waitFor(t, "the queue to drain", func() bool { return tr.Stats()[0].QueueLen == 0 })
	dropped := tr.Stats()[0].Drops.Total()
	for i := range n {
		tr.TapMessage(tapped(fmt.Sprintf("%s-%d", prefix, i), "m", 0))
	}
	if d := tr.Stats()[0].Drops.Total(); d != dropped {
		t.Fatalf("%d packets dropped while connected", d-dropped)
	}
	next := 0
	for next < n {
		p := recvPacket(t, col.ch)
		id := string(p.CorrelationID)
		if !strings.HasPrefix(id, prefix) {
			if next > 0 {
				t.Fatalf("old packet %q after %s-%d", id, prefix, next-1)
			}
			continue
		}
		if want := fmt.Sprintf("%s-%d", prefix, next); id != want {
			t.Fatalf("got %q, want %q", id, want)
		}
		next++
	}
}

func TestCloseFlushesQueue(t *testing.T) {
	for _, tp := range []Transport{TCP, UDP} {
		t.Run(tp.String(), func(t *testing.T) {
			var (
				dest Destination
				ch   <-chan []byte
			)
			if tp == UDP {
				col := newUDPCollector(t)
				dest, ch = col.dest("u"), col.ch
			} else {
				col := newStreamCollector(t, "127.0.0.1:0", nil)
				dest, ch = streamDest("t", col.port(), TCP), col.ch
			}
			tr, err := New(Config{Destinations: []Destination{dest}, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			const n = 500
			for i := range n {
				tr.TapMessage(tapped(fmt.Sprint(i), "c", 0))
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := tr.Close(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if p := recvPacket(t, ch); string(p.CorrelationID) != fmt.Sprint(i) {
					t.Fatalf("packet %d: %q", i, p.CorrelationID)
				}
			}
			tr.TapMessage(tapped("late", "c", 0))
			if st := tr.Stats()[0]; st.PacketsSent != n || st.Drops.Total() != 0 {
				t.Errorf("stats after close %+v", st)
			}
			if c := tr.Counters(); c.Messages != n {
				t.Errorf("a message tapped after Close was counted: %+v", c)
			}
		})
	}
}

// TestCloseGivesUpAtDeadline: a collector that accepts but never reads
// cannot hold Close beyond its context.
func TestCloseGivesUpAtDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetReadBuffer(4096)
			held = append(held, c)
		}
	}()
	tr, err := New(Config{Destinations: []Destination{streamDest("stuck", ln.Addr().(*net.TCPAddr).Port, TCP)}, Logger: quietLogger(), WriteTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connect", func() bool { return tr.Stats()[0].Connected })
	for range 4000 {
		tr.TapMessage(tapped("stuck", "s", 4000))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := tr.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	st := tr.Stats()[0]
	if st.QueueLen != 0 || st.Drops.Total() == 0 {
		t.Errorf("stats after an expired close %+v: the queue should be counted as dropped", st)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	col := newStreamCollector(t, "127.0.0.1:0", nil)
	u := newUDPCollector(t)
	tr, err := New(Config{Destinations: []Destination{streamDest("t", col.port(), TCP), u.dest("u"), streamDest("down", freePort(t), TCP)}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	tr.TapMessage(tapped("x", "x", 0))
	recvPacket(t, col.ch)
	recvPacket(t, u.ch)
	closeTracer(t, tr)
	col.close()
	u.conn.Close()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before+1 })
}

// countingHandler counts the log records it receives, by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// TestCollectorDownDoesNotFloodTheLog: many failed connects and thousands
// of dropped packets give one warning; the collector coming back gives one
// notice.
func TestCollectorDownDoesNotFloodTheLog(t *testing.T) {
	port := freePort(t)
	h := &countingHandler{counts: map[slog.Level]int{}}
	tr := newTestTracer(t, Config{
		Destinations: []Destination{streamDest("down", port, TCP)}, Logger: slog.New(h),
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond,
	})
	for range 5000 {
		tr.TapMessage(tapped("x", "x", 0))
	}
	waitFor(t, "many failed connects", func() bool { return tr.Stats()[0].ConnectFailures >= 20 })
	if n := h.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings for one outage, want 1", n)
	}
	newStreamCollector(t, fmt.Sprintf("127.0.0.1:%d", port), nil)
	waitFor(t, "the sender to connect", func() bool { return tr.Stats()[0].Connected })
	waitFor(t, "the recovery notice", func() bool { return h.count(slog.LevelInfo) == 1 })
	if n := h.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}
