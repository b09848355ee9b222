package web

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/pcap"
)

// The calls API: the calls of the pcap ring (GET /calls) and one call as a
// ladder (GET /calls/{call-id}/ladder) or a pcap (GET /calls/{call-id}/pcap).
// A Call-ID may hold "/" and "?": the page escapes it, and the route takes
// everything between /calls/ and the last segment.

// Bounds of the calls API.
const (
	// MaxCallsLimit bounds limit= of GET /calls.
	MaxCallsLimit = 1000
	// MaxLadderEvents bounds the connection events drawn on one ladder.
	MaxLadderEvents = 200
	// ladderNearby is how far around a call's messages a CONNECT_FAILED
	// of a connection that carried none of them is drawn as nearby.
	ladderNearby = 2 * time.Second
	// maxNearbyEvents bounds those nearby failures.
	maxNearbyEvents = 10
)

// LadderMessage is one arrow of a ladder.
type LadderMessage struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	ConnID    uint64    `json:"conn_id"`
	Direction string    `json:"direction"` // "in" (read by sipwire) or "out"
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	// Label is the method of a request ("INVITE") or the status of a
	// response ("180 Ringing"); CSeq is the CSeq header's value.
	Label     string `json:"label"`
	CSeq      string `json:"cseq,omitempty"`
	StartLine string `json:"start_line"`
	Bytes     int    `json:"bytes"`
	Data      string `json:"data"`
}

// LadderEvent is a connection event on a ladder's time line.
type LadderEvent struct {
	Event
	// Nearby: the connection carried none of the call's messages; the
	// event (a failed connect) happened while the call was under way.
	Nearby bool `json:"nearby,omitempty"`
}

// Ladder is the body of GET /calls/{call-id}/ladder.
type Ladder struct {
	CallID string `json:"call_id"`
	// Columns are the addresses (ip:port) of the ladder, in the order they
	// first appear.
	Columns  []string        `json:"columns"`
	Messages []LadderMessage `json:"messages"`
	Events   []LadderEvent   `json:"events"`
	// Conns are the connections that carried the call's messages.
	Conns []uint64 `json:"conns"`
}

// CallSource is what the calls API needs of the ring of traced messages;
// *pcap.Ring implements it.
type CallSource interface {
	Calls(q pcap.CallQuery) pcap.CallsPage
	Call(callID string) []pcap.Record
}

func (s *Server) callSource() (CallSource, error) {
	if s.deps.Pcap == nil {
		return nil, errorf(http.StatusNotFound, "the traced-message ring is not enabled")
	}
	return s.deps.Pcap, nil
}

// getCalls is GET /calls: the calls the ring holds, most recently active
// first; search= keeps Call-IDs that contain it (case ignored), conn= the
// calls of one connection, limit= bounds the answer.
func (s *Server) getCalls(c *gin.Context) error {
	src, err := s.callSource()
	if err != nil {
		return err
	}
	q := pcap.CallQuery{Search: c.Query("search"), Limit: pcap.DefaultCallLimit}
	if v := c.Query("conn"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return errorf(http.StatusBadRequest, "conn=%q is not a connection id", v)
		}
		q.ConnID = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxCallsLimit {
			return errorf(http.StatusBadRequest, "limit must be an integer from 1 to %d", MaxCallsLimit)
		}
		q.Limit = n
	}
	c.JSON(http.StatusOK, src.Calls(q))
	return nil
}

// getCall is GET /calls/{call-id}/ladder and GET /calls/{call-id}/pcap.
func (s *Server) getCall(c *gin.Context) error {
	rest := strings.TrimPrefix(c.Param("rest"), "/")
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return errorf(http.StatusNotFound, "no route %s %s (a call's routes: /calls/{call-id}/ladder and /calls/{call-id}/pcap)", c.Request.Method, c.Request.URL.Path)
	}
	callID, what := rest[:i], rest[i+1:]
	if what != "ladder" && what != "pcap" {
		return errorf(http.StatusNotFound, "no route %s %s (a call's routes: /calls/{call-id}/ladder and /calls/{call-id}/pcap)", c.Request.Method, c.Request.URL.Path)
	}
	src, err := s.callSource()
	if err != nil {
		return err
	}
	recs := src.Call(callID)
	if len(recs) == 0 {
		return errorf(http.StatusNotFound, "no traced message of Call-ID %q is held (tracing off, or evicted from the ring)", callID)
	}
	if what == "pcap" {
		var buf bytes.Buffer
		if err := pcap.Write(&buf, recs); err != nil {
			return errorf(http.StatusInternalServerError, "write pcap: %v", err)
		}
		c.Header("Content-Disposition", `attachment; filename="`+pcapFileName(callID)+`"`)
		c.Header("X-Sipwire-Messages", strconv.Itoa(len(recs)))
		c.Data(http.StatusOK, "application/vnd.tcpdump.pcap", buf.Bytes())
		return nil
	}
	l := s.ladder(c, callID, recs)
	c.JSON(http.StatusOK, l)
	return nil
}

// pcapFileName is a file name for a call's pcap: its Call-ID, cut and with
// anything but letters, digits, '-', '_' and '.' replaced.
func pcapFileName(callID string) string {
	b := []byte("call-")
	for i := 0; i < len(callID) && i < 60; i++ {
		ch := callID[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.':
			b = append(b, ch)
		default:
			b = append(b, '_')
		}
	}
	return string(b) + ".pcap"
}

// ladder builds the ladder of a call from its records and the events of
// the connections that carried it: the ring's, and the history's when the
// ring no longer holds them.
func (s *Server) ladder(c *gin.Context, callID string, recs []pcap.Record) Ladder {
	l := Ladder{CallID: callID, Columns: []string{}, Messages: make([]LadderMessage, 0, len(recs)), Events: []LadderEvent{}}
	column := func(a string) {
		if !slices.Contains(l.Columns, a) {
			l.Columns = append(l.Columns, a)
		}
	}
	for i := range recs {
		r := &recs[i]
		src, dst := r.Remote.String(), r.Local.String()
		dir := "in"
		if r.Direction == transport.Sent {
			src, dst, dir = dst, src, "out"
		}
		column(src)
		column(dst)
		if !slices.Contains(l.Conns, r.ConnID) {
			l.Conns = append(l.Conns, r.ConnID)
		}
		label, cseq, line := sipLabel(r.Data)
		l.Messages = append(l.Messages, LadderMessage{
			Seq: r.Seq, Time: r.Time, ConnID: r.ConnID, Direction: dir, Src: src, Dst: dst,
			Label: label, CSeq: cseq, StartLine: line, Bytes: len(r.Data), Data: string(r.Data),
		})
	}
	seen := map[string]bool{}
	add := func(e Event, nearby bool) {
		k := strconv.FormatUint(e.ConnID, 10) + e.Kind + e.Time.Format(time.RFC3339Nano)
		if seen[k] || len(l.Events) >= MaxLadderEvents {
			return
		}
		seen[k] = true
		l.Events = append(l.Events, LadderEvent{Event: e, Nearby: nearby})
	}
	var missing []uint64
	for _, id := range l.Conns {
		p := s.ring.Query(EventQuery{ConnID: id, Limit: MaxLadderEvents})
		for _, e := range p.Events {
			add(e, false)
		}
		if len(p.Events) == 0 {
			missing = append(missing, id)
		}
	}
	if s.deps.Events != nil && len(missing) > 0 {
		// The ring no longer holds these connections' events: the
		// history does, tied to the Call-ID.
		evs, _, err := s.deps.Events.Query(c.Request.Context(), EventQuery{CallID: callID, Limit: MaxLadderEvents})
		if err == nil {
			for _, e := range evs {
				if slices.Contains(missing, e.ConnID) {
					add(e, false)
				}
			}
		}
	}
	first, last := recs[0].Time, recs[len(recs)-1].Time
	p := s.ring.Query(EventQuery{Kinds: []string{transport.EventConnectFailed.String()},
		Since: first.Add(-ladderNearby), Until: last.Add(ladderNearby), Limit: maxNearbyEvents})
	for _, e := range p.Events {
		if !slices.Contains(l.Conns, e.ConnID) {
			add(e, true)
		}
	}
	slices.SortStableFunc(l.Events, func(a, b LadderEvent) int { return a.Time.Compare(b.Time) })
	return l
}

// sipLabel returns what a ladder's arrow says of a SIP message: the method
// of a request or the status code and phrase of a response; the CSeq
// header's value; and the start line.
func sipLabel(data []byte) (label, cseq, line string) {
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	line = string(first[:min(len(first), 200)])
	f := bytes.Fields(first)
	switch {
	case len(f) >= 2 && bytes.HasPrefix(f[0], []byte("SIP/")):
		label = string(f[1])
		if _, phrase, ok := bytes.Cut(first, f[1]); ok {
			if p := strings.TrimSpace(string(phrase)); p != "" {
				label += " " + p[:min(len(p), 40)]
			}
		}
	case len(f) >= 1:
		label = string(f[0][:min(len(f[0]), 40)])
	}
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\n"))
		h = bytes.TrimRight(h, "\r")
		if len(h) == 0 {
			break
		}
		if name, v, ok := bytes.Cut(h, []byte(":")); ok && strings.EqualFold(string(bytes.TrimSpace(name)), "CSeq") {
			cseq = string(bytes.TrimSpace(v))
			break
		}
	}
	return label, cseq, line
}
