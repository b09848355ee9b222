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

// TestHomerCallIDReplay: the open event is repeated once per new Call-ID
// (as the transport marks it), the CLOSED event once per Call-ID the
// transport says the connection carried.
func TestHomerCallIDReplay(t *testing.T) {
	col := newUDPCollector(t)
	tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, DisableMessages: true})
	open := acceptedEvent(9)
	tr.Observe(&transport.Observation{Kind: transport.ObservedEvent, Traced: true, Event: open})
	conn := transport.ConnInfo{ID: 9, Direction: transport.Inbound, Local: evLocal, Remote: evPeer, Listener: evLocal, Opened: evTime}
	msg := func(callID string, seq int) {
		tr.Observe(&transport.Observation{Kind: transport.ObservedMessage, Traced: true, Message: transport.TracedMessage{
			Conn: conn, Time: evTime.Add(time.Millisecond), NewCall: seq > 0, CallSeq: seq,
			Data: []byte("OPTIONS sip:x SIP/2.0\r\nCall-ID: " + callID + "\r\n\r\n"), CallID: []byte(callID),
		}})
	}
	msg("call-a", 1)
	msg("call-b", 2)
	msg("call-a", 0)
	closed := closedEvent(9)
	tr.Observe(&transport.Observation{Kind: transport.ObservedEvent, Traced: true, Event: closed, CallIDs: []string{"call-a", "call-b"}})
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
		if h.Event == "ACCEPTED" && (p.TimeSec != uint32(evTime.Unix()) || p.TimeUsec != uint32(evTime.Nanosecond()/1000) || p.Src != evPeer || h.Reason != open.Reason) {
			t.Errorf("replayed open event differs from the open event: %+v", p)
		}
	}
	marker := transport.Event{Kind: transport.EventAccepted, ConnID: 1000, Local: evLocal, Remote: evPeer, Reason: "marker"}
	tr.HandleEvent(&marker)
	if p := col.next(t); string(p.CorrelationID) != "1000" {
		t.Fatalf("unexpected extra packet %s", p.Payload)
	}
}

// TestHomerOpenReplayBound: only the first OpenReplaysPerConn Call-IDs of
// a connection repeat its open event; the opensips format repeats nothing.
func TestHomerOpenReplayBound(t *testing.T) {
	for _, c := range []struct {
		format Format
		want   int
	}{{FormatHomer, 3}, {FormatOpenSIPS, 0}} {
		col := newUDPCollector(t)
		tr := newTestTracer(t, Config{Destinations: []Destination{col.dest("c")}, DisableMessages: true, Format: c.format, OpenReplaysPerConn: 3})
		conn := transport.ConnInfo{ID: 2, Local: evLocal, Remote: evPeer, Opened: evTime}
		for i := range 10 {
			tr.Observe(&transport.Observation{Kind: transport.ObservedMessage, Traced: true, Message: transport.TracedMessage{
				Conn: conn, Data: []byte("x"), CallID: []byte("d" + strconv.Itoa(i)), NewCall: true, CallSeq: i + 1}})
		}
		marker := transport.Event{Kind: transport.EventAccepted, ConnID: 1000, Local: evLocal, Remote: evPeer, Reason: "marker"}
		tr.HandleEvent(&marker)
		var got []string
		for {
			p := col.next(t)
			if string(p.CorrelationID) == "1000" {
				break
			}
			got = append(got, string(p.CorrelationID))
		}
		if len(got) != c.want || (c.want > 0 && (got[0] != "d0" || got[c.want-1] != "d"+strconv.Itoa(c.want-1))) {
			t.Errorf("format %d: open event repeated for %v, want the first %d Call-IDs", c.format, got, c.want)
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
