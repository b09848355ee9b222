package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/web/pcap"
)

func withPcapRing(_ *Config, d *Deps) { d.Pcap = pcap.NewRing(0) }

// TestCallLadder: a traced OPTIONS and its 200 are found by a search of
// their Call-ID (one with "/" and "?" in it), drawn as a ladder of two
// arrows between the client's and sipwire's address with the connection's
// ACCEPTED and CLOSED on the same time line, and written as a pcap.
func TestCallLadder(t *testing.T) {
	f := newFixture(t, withPcapRing)
	f.tr.SetTracing(true)
	const callID = "ladder/one?x@Host"
	c := f.sipClient(callID)
	client := c.LocalAddr().String()
	c.Close()
	closed := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.Remote == client })

	w := f.do("GET", "/api/v1/calls?search=LADDER", "")
	page := decode[pcap.CallsPage](t, w)
	if w.Code != 200 || page.Matched != 1 || len(page.Calls) != 1 || page.Calls[0].CallID != callID ||
		page.Calls[0].Messages != 2 || !strings.HasPrefix(page.Calls[0].StartLine, "OPTIONS ") {
		t.Fatalf("GET /calls?search= = %d %s", w.Code, w.Body)
	}
	if p := decode[pcap.CallsPage](t, f.do("GET", "/api/v1/calls?conn="+strconvU(closed.ConnID), "")); p.Matched != 1 {
		t.Fatalf("calls of conn %d: %+v", closed.ConnID, p)
	}
	if p := decode[pcap.CallsPage](t, f.do("GET", "/api/v1/calls?conn="+strconvU(closed.ConnID+1), "")); p.Matched != 0 {
		t.Fatalf("calls of another conn: %+v", p)
	}

	w = f.do("GET", "/api/v1/calls/"+url.PathEscape(callID)+"/ladder", "")
	if w.Code != 200 {
		t.Fatalf("ladder: %d %s", w.Code, w.Body)
	}
	l := decode[Ladder](t, w)
	sip := f.sip.String()
	if l.CallID != callID || len(l.Columns) != 2 || l.Columns[0] != client || l.Columns[1] != sip {
		t.Fatalf("ladder columns %q, want [%s %s]", l.Columns, client, sip)
	}
	if len(l.Messages) != 2 {
		t.Fatalf("ladder has %d messages, want 2", len(l.Messages))
	}
	in, out := l.Messages[0], l.Messages[1]
	if in.Label != "OPTIONS" || in.Direction != "in" || in.Src != client || in.Dst != sip || in.CSeq != "1 OPTIONS" ||
		!strings.Contains(in.Data, "Call-ID: "+callID) || in.Bytes != len(in.Data) {
		t.Errorf("first arrow %+v", in)
	}
	if out.Label != "200 OK" || out.Direction != "out" || out.Src != sip || out.Dst != client || out.Time.Before(in.Time) {
		t.Errorf("second arrow %+v", out)
	}
	var kinds []string
	for _, e := range l.Events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "ACCEPTED,CLOSED" || l.Events[0].Time.After(in.Time) || l.Events[1].Time.Before(out.Time) {
		t.Errorf("ladder events %v, want ACCEPTED before the messages and CLOSED after", l.Events)
	}

	w = f.do("GET", "/api/v1/calls/"+url.PathEscape(callID)+"/pcap", "")
	if w.Code != 200 || w.Header().Get("X-Sipwire-Messages") != "2" || w.Header().Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		!strings.Contains(w.Header().Get("Content-Disposition"), `filename="call-ladder_one_x_Host.pcap"`) {
		t.Fatalf("call pcap: %d %v", w.Code, w.Header())
	}

	wantError(t, f.do("GET", "/api/v1/calls/nothing@here/ladder", ""), 404, "no traced message of Call-ID")
	wantError(t, f.do("GET", "/api/v1/calls/"+url.PathEscape(callID)+"/other", ""), 404, "/calls/{call-id}/ladder")
	wantError(t, f.do("GET", "/api/v1/calls?limit=0", ""), 400, "limit")
	wantError(t, f.do("GET", "/api/v1/calls?conn=x", ""), 400, "conn")
}

// TestCallsNeedTheToken: with a token, the calls reveal traffic.
func TestCallsNeedTheToken(t *testing.T) {
	f := newFixture(t, withPcapRing, withToken)
	for _, p := range []string{"/api/v1/calls", "/api/v1/calls/x/ladder", "/api/v1/calls/x/pcap"} {
		if w := f.do("GET", p, ""); w.Code != 401 {
			t.Errorf("GET %s without the token: %d", p, w.Code)
		}
	}
	if w := f.do("GET", "/api/v1/calls", "", bearer...); w.Code != 200 {
		t.Errorf("GET /api/v1/calls with the token: %d %s", w.Code, w.Body)
	}
}

// TestCallLadderFromHistory: when the ring of recent events no longer holds
// a call's connection events, the ladder takes them from the history, by
// the call's Call-ID.
func TestCallLadderFromHistory(t *testing.T) {
	f := newHistoryFixture(t, withPcapRing, func(c *Config, _ *Deps) { c.EventRingSize = 2 })
	f.tr.SetTracing(true)
	c := f.sipClient("ladder-history@x")
	client := c.LocalAddr().String()
	c.Close()
	f.waitStored("call_id=ladder-history@x&kind=CLOSED", 1)
	for i := range 2 {
		f.sipClient("push-" + strconvI(i)).Close() // the ring's two events are theirs
	}
	f.waitStored("kind=CLOSED", 3)
	for _, e := range f.srv.Ring().Query(EventQuery{}).Events {
		if e.Remote == client {
			t.Fatalf("the ring still holds %+v", e)
		}
	}
	l := decode[Ladder](t, f.do("GET", "/api/v1/calls/ladder-history@x/ladder", ""))
	var kinds []string
	for _, e := range l.Events {
		if e.Remote != client || e.Run != 2 {
			t.Errorf("ladder event %+v is not the call's connection's, from the history", e)
		}
		kinds = append(kinds, e.Kind)
	}
	if len(l.Messages) != 2 || strings.Join(kinds, ",") != "ACCEPTED,CLOSED" {
		t.Fatalf("ladder of %d messages with events %v, want 2 and ACCEPTED,CLOSED", len(l.Messages), kinds)
	}
}
