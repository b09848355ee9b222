package hep

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

var (
	evTime  = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	evLocal = netip.MustParseAddrPort("127.0.0.1:5060")
	evPeer  = netip.MustParseAddrPort("127.0.0.2:40001")
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func acceptedEvent(id uint64) transport.Event {
	return transport.Event{
		Kind: transport.EventAccepted, ConnID: id, Direction: transport.Inbound, Time: evTime,
		Local: evLocal, Remote: evPeer, Listener: evLocal, Reason: "Connection accepted",
	}
}

func closedEvent(id uint64) transport.Event {
	e := acceptedEvent(id)
	e.Kind, e.Reason, e.Time = transport.EventClosed, "EOF received", evTime.Add(time.Second)
	return e
}

func newTestTracer(t testing.TB, cfg Config) *Tracer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTracer(t, tr) })
	return tr
}

func TestEventOpenSIPSFormat(t *testing.T) {
	out := netip.MustParseAddrPort("127.0.0.1:35000")
	cases := []struct {
		name    string
		style   PayloadStyle
		ev      transport.Event
		src     netip.AddrPort
		dst     netip.AddrPort
		payload string
	}{
		{"accepted json", PayloadJSON, acceptedEvent(42), evPeer, evLocal,
			`{"Protocol":"TCP","Event":"ACCEPTED","Status":"SUCCESS","Message":"Connection accepted..."}`},
		{"accepted text", PayloadText, acceptedEvent(42), evPeer, evLocal,
			`TCP:ACCEPTED:SUCCESS:Connection accepted...`},
		{"closed json", PayloadJSON, closedEvent(42), evPeer, evLocal,
			`{"Protocol":"TCP","Event":"CLOSED","Status":"SUCCESS","Message":"EOF received"}`},
		{"connect start: src = local (unknown yet), dst = remote", PayloadJSON, transport.Event{
			Kind: transport.EventConnectStart, ConnID: 42, Direction: transport.Outbound, Time: evTime,
			Remote: evPeer, Reason: "Async connect in progress"},
			netip.MustParseAddrPort("0.0.0.0:0"), evPeer,
			`{"Protocol":"TCP","Event":"CONNECT_START","Status":"SUCCESS","Message":"Async connect in progress..."}`},
		{"connected text", PayloadText, transport.Event{
			Kind: transport.EventConnected, ConnID: 42, Direction: transport.Outbound, Time: evTime,
			Local: out, Remote: evPeer, Reason: "Successfully connected"},
			out, evPeer, `TCP:CONNECTED:SUCCESS:Successfully connected...`},
		{"failure with quotes", PayloadJSON, transport.Event{
			Kind: transport.EventBadMessage, Status: transport.StatusFailure, ConnID: 42, Time: evTime,
			Local: evLocal, Remote: evPeer, Reason: "bad \"Content-Length\"\n"},
			evPeer, evLocal,
			`{"Protocol":"TCP","Event":"BAD_MESSAGE","Status":"FAILURE","Message":"bad \"Content-Length\"\n"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := newUDPCollector(t)
			tr := newTestTracer(t, Config{
				Destinations: []Destination{col.dest("c")}, Format: FormatOpenSIPS, OpenSIPSPayload: c.style,
				CaptureID: 77, NodeName: "node-1", AuthKey: "secret",
			})
			tr.HandleEvent(&c.ev)
			p := col.next(t)
			want := Packet{
				IPProtocol: IPProtoTCP, Src: c.src, Dst: c.dst,
				TimeSec: uint32(c.ev.Time.Unix()), TimeUsec: 123456, ProtoType: ProtoNet, CaptureID: 77,
				AuthKey: []byte("secret"), CorrelationID: []byte("42"), NodeName: []byte("node-1"),
				Payload: []byte(c.payload),
			}
			if !packetsEqual(&p, &want) {
				t.Fatalf("got  %+v\nwant %+v\npayload %s", p, want, p.Payload)
			}
		})
	}
}

type homerPayload struct {
	Protocol, Event, Status, Message string
	ConnID                           uint64
	Direction, Local, Remote, Reason string
	CallID                           string
}

func decodeHomer(t testing.TB, p *Packet) homerPayload {
	t.Helper()
	var h homerPayload
	if err := json.Unmarshal(p.Payload, &h); err != nil {
		t.Fatalf("payload %s: %v", p.Payload, err)
	}
	return h
}

func TestEventHomerFormat(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}})
	e := acceptedEvent(7)
	tr.HandleEvent(&e)
	p := col.next(t)
	if p.ProtoType != ProtoLog || string(p.CorrelationID) != "7" || p.CaptureID != DefaultCaptureID ||
		p.Src != evPeer || p.Dst != evLocal || p.NodeName != nil || p.AuthKey != nil {
		t.Fatalf("packet %+v", p)
	}
	want := `{"Protocol":"TCP","Event":"ACCEPTED","Status":"SUCCESS","Message":"Connection accepted...","ConnID":7,"Direction":"in","Local":"127.0.0.1:5060","Remote":"127.0.0.2:40001","Reason":"Connection accepted"}`
	if string(p.Payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", p.Payload, want)
	}
	decodeHomer(t, &p)
}

// TestHomerCallIDReplay: the open event is repeated once per new Call-ID,
// the CLOSED event once per Call-ID the connection carried.
func TestHomerCallIDReplay(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, DisableMessages: true})
	open := acceptedEvent(9)
	tr.HandleEvent(&open)
	msg := func(callID string) {
		tr.TapMessage(&transport.TracedMessage{
			Conn: transport.ConnInfo{ID: 9, Local: evLocal, Remote: evPeer}, Time: evTime,
			Data: []byte("OPTIONS sip:x SIP/2.0\r\nCall-ID: " + callID + "\r\n\r\n"), CallID: []byte(callID),
		})
	}
	msg("call-a")
	msg("call-b")
	msg("call-a")
	closed := closedEvent(9)
	tr.HandleEvent(&closed)
	want := []struct{ event, corr string }{
		{"ACCEPTED", "9"}, {"ACCEPTED", "call-a"}, {"ACCEPTED", "call-b"},
		{"CLOSED", "9"}, {"CLOSED", "call-a"}, {"CLOSED", "call-b"},
	}
	for _, w := range want {
		p := col.next(t)
		h := decodeHomer(t, &p)
		if h.Event != w.event || string(p.CorrelationID) != w.corr || h.ConnID != 9 {
			t.Fatalf("got %s/%q (%s), want %s/%q", h.Event, p.CorrelationID, p.Payload, w.event, w.corr)
		}
		if w.corr != "9" && h.CallID != w.corr {
			t.Errorf("payload CallID %q, want %q", h.CallID, w.corr)
		}
		if h.Event == "ACCEPTED" && (p.TimeSec != uint32(evTime.Unix()) || p.Src != evPeer) {
			t.Errorf("replayed open event changed: %+v", p)
		}
	}
	if n := tr.calls.tracked(); n != 0 {
		t.Errorf("%d connections still tracked after CLOSED", n)
	}
	marker := transport.Event{Kind: transport.EventAccepted, ConnID: 1000, Local: evLocal, Remote: evPeer, Reason: "marker"}
	tr.HandleEvent(&marker)
	if p := col.next(t); string(p.CorrelationID) != "1000" {
		t.Fatalf("unexpected extra packet %s", p.Payload)
	}
}

// TestHomerCallIDBeforeOpen: a message tapped before its connection's open
// event got through the subscription queue still gets the open event with
// its Call-ID, when the open event arrives.
func TestHomerCallIDBeforeOpen(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, DisableMessages: true})
	tr.TapMessage(&transport.TracedMessage{Conn: transport.ConnInfo{ID: 3}, Time: evTime, Data: []byte("x"), CallID: []byte("early")})
	open := acceptedEvent(3)
	tr.HandleEvent(&open)
	for _, corr := range []string{"3", "early"} {
		if p := col.next(t); string(p.CorrelationID) != corr {
			t.Fatalf("correlation %q, want %q", p.CorrelationID, corr)
		}
	}
}

func TestHomerCallIDBounds(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, DisableMessages: true, CallIDsPerConn: 4, MaxTrackedConns: 3})
	for i := range 10 {
		id := strconv.Itoa(i)
		tr.TapMessage(&transport.TracedMessage{Conn: transport.ConnInfo{ID: 1}, Data: []byte("x"), CallID: []byte("c" + id)})
		tr.TapMessage(&transport.TracedMessage{Conn: transport.ConnInfo{ID: uint64(100 + i)}, Data: []byte("x"), CallID: []byte("c")})
	}
	if n := tr.calls.tracked(); n > 3 {
		t.Fatalf("%d connections tracked, bound is 3", n)
	}
	// Connection 1 may have been evicted by the churn; use a fresh one.
	for i := range 10 {
		tr.TapMessage(&transport.TracedMessage{Conn: transport.ConnInfo{ID: 2}, Data: []byte("x"), CallID: []byte("d" + strconv.Itoa(i))})
	}
	closed := closedEvent(2)
	tr.HandleEvent(&closed)
	var got []string
	for range 5 {
		p := col.next(t)
		got = append(got, string(p.CorrelationID))
	}
	want := map[string]bool{"2": true, "d6": true, "d7": true, "d8": true, "d9": true}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("CLOSED sent with %v, want the connection id and the last 4 Call-IDs", got)
		}
	}
}

func TestEventAddrs(t *testing.T) {
	v6 := netip.MustParseAddrPort("[::1]:5060")
	cases := []struct {
		name     string
		e        transport.Event
		src, dst string
	}{
		{"inbound", transport.Event{Direction: transport.Inbound, Local: evLocal, Remote: evPeer}, "127.0.0.2:40001", "127.0.0.1:5060"},
		{"outbound", transport.Event{Direction: transport.Outbound, Local: evLocal, Remote: evPeer}, "127.0.0.1:5060", "127.0.0.2:40001"},
		{"refused: listener as local", transport.Event{Direction: transport.Inbound, Listener: evLocal, Remote: evPeer}, "127.0.0.2:40001", "127.0.0.1:5060"},
		{"v6 connect start", transport.Event{Direction: transport.Outbound, Remote: v6}, "[::]:0", "[::1]:5060"},
		{"nothing known", transport.Event{}, "0.0.0.0:0", "0.0.0.0:0"},
	}
	for _, c := range cases {
		src, dst := eventAddrs(&c.e)
		if src.String() != c.src || dst.String() != c.dst {
			t.Errorf("%s: %v -> %v, want %s -> %s", c.name, src, dst, c.src, c.dst)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\`, "ctl\x00\x1f\t\r\n", "utf8 é ☃", "bad \xff\xfe utf8", ""} {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q -> %s: %v", s, b, err)
			continue
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if back != w {
			t.Errorf("%q -> %s -> %q, want %q", s, b, back, w)
		}
	}
}

func TestEventEncodingDoesNotAllocate(t *testing.T) {
	for _, f := range []Format{FormatHomer, FormatOpenSIPS} {
		tr := &Tracer{format: f, captureID: 1, nodeName: []byte("n")}
		e := acceptedEvent(123456)
		buf := make([]byte, 0, 1024)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := tr.appendEvent(buf[:0], &e, ""); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: appendEvent allocates %.1f times, want 0", f, allocs)
		}
	}
}
