package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net"
	"net/http"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// hep3 builds a HEPv3 packet with the given protocol type and payload.
func hep3(proto byte, payload string) []byte {
	var b []byte
	chunk := func(typ uint16, v []byte) {
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(6+len(v)))
		b = append(b, v...)
	}
	chunk(0x0001, []byte{2}) // IPv4
	chunk(0x000b, []byte{proto})
	chunk(0x000f, []byte(payload))
	out := append([]byte("HEP3"), 0, 0)
	out = append(out, b...)
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)))
	return out
}

func TestHEPProtoType(t *testing.T) {
	if p, err := hepProtoType(hep3(1, "INVITE")); err != nil || p != 1 {
		t.Errorf("got %d, %v; want 1", p, err)
	}
	bad := hep3(100, "x")
	bad[5]++ // total length off by one
	for name, pkt := range map[string][]byte{"short": []byte("HEP"), "HEP2": []byte("HEP2\x00\x06"), "bad length": bad} {
		if _, err := hepProtoType(pkt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHEPCounter(t *testing.T) {
	h, err := listenHEP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	c, err := net.Dial("udp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkts := [][]byte{hep3(1, "INVITE"), hep3(1, "BYE"), hep3(100, `{"event":"ACCEPTED"}`), []byte("garbage")}
	for _, p := range pkts {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; h.snapshot().Packets < 4 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	got := h.snapshot()
	want := hepCounts{Packets: 4, SIP: 2, Other: 1, Invalid: 1}
	for _, p := range pkts {
		want.Bytes += uint64(len(p))
	}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if d := got.sub(hepCounts{Packets: 1, SIP: 1, Bytes: 10}); d.Packets != 3 || d.SIP != 1 || d.Bytes != want.Bytes-10 {
		t.Errorf("sub: %+v", d)
	}
}

func TestOTLPReceiver(t *testing.T) {
	r, err := listenOTLP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	req := &coltrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "a"}, {Name: "b"}}}, {Spans: []*tracepb.Span{{Name: "c"}}}},
	}}}
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(body)
	zw.Close()

	post := func(b []byte, gz bool) int {
		t.Helper()
		hr, err := http.NewRequest(http.MethodPost, r.url()+"/v1/traces", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/x-protobuf")
		if gz {
			hr.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(body, false); code != http.StatusOK {
		t.Errorf("plain export: status %d", code)
	}
	if code := post(zipped.Bytes(), true); code != http.StatusOK {
		t.Errorf("gzip export: status %d", code)
	}
	if code := post([]byte{0xff, 0xff, 0xff}, false); code != http.StatusBadRequest {
		t.Errorf("garbage: status %d, want 400", code)
	}
	got := r.snapshot()
	want := otlpCounts{Requests: 3, Bytes: uint64(len(body) + zipped.Len() + 3), Spans: 6, Bad: 1}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestHEPCounterTCP sends HEP packets over two TCP streams, split at
// awkward places, and a stream that stops being HEP.
func TestHEPCounterTCP(t *testing.T) {
	h, err := listenHEP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	pkts := [][]byte{hep3(1, "INVITE"), hep3(1, "BYE"), hep3(100, `{"event":"ACCEPTED"}`)}
	var stream []byte
	for range 100 {
		for _, p := range pkts {
			stream = append(stream, p...)
		}
	}
	for _, split := range []int{1, 7} {
		c, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		// Writes of split bytes, then the rest: packets cross reads.
		for i := 0; i < 50*split && i < len(stream); i += split {
			if _, err := c.Write(stream[i:min(i+split, len(stream))]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Write(stream[min(50*split, len(stream)):]); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	bad, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Write(append(hep3(1, "ACK"), "garbage and more garbage"...)); err != nil {
		t.Fatal(err)
	}
	bad.Close()
	want := hepCounts{Packets: 601, SIP: 401, Other: 200, TCPConns: 3, Torn: 1,
		Bytes: 2*uint64(len(stream)) + uint64(len(hep3(1, "ACK")))}
	for i := 0; h.snapshot() != want && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.snapshot(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
