package web

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/transport"
)

// Bounds of GET /events.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
)

// eventsBody is the body of GET /events.
type eventsBody struct {
	Source string  `json:"source"`
	Events []Event `json:"events"`
	// More: matches were left out by the limit.
	More bool `json:"more"`
	// NextSince (ring) is the since= of the next poll.
	NextSince uint64 `json:"next_since,omitempty"`
	// OldestSeq and LastSeq (ring) are the oldest and newest sequence numbers
	// held.
	OldestSeq uint64 `json:"oldest_seq,omitempty"`
	LastSeq   uint64 `json:"last_seq,omitempty"`
	// NextCursor (history) is the cursor= of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// parseEventQuery reads the filters shared by GET /events and the stream,
// and limit= (1 to MaxEventsLimit, default DefaultEventsLimit).
func parseEventQuery(c *gin.Context) (EventQuery, error) {
	q, err := parseEventFilter(c)
	if err != nil {
		return q, err
	}
	q.Limit = DefaultEventsLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxEventsLimit {
			return q, errorf(http.StatusBadRequest, "limit must be an integer from 1 to %d", MaxEventsLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// parseEventFilter reads every filter of an event query but limit=.
func parseEventFilter(c *gin.Context) (EventQuery, error) {
	var q EventQuery
	if v := c.Query("since"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			q.SinceSeq = n
		} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			q.Since = t
		} else {
			return q, errorf(http.StatusBadRequest, "since=%q is neither a sequence number nor an RFC 3339 time", v)
		}
	}
	if v := c.Query("until"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "until=%q is not an RFC 3339 time", v)
		}
		q.Until = t
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return q, errorf(http.StatusBadRequest, "until=%s is before since=%s", c.Query("until"), c.Query("since"))
	}
	for _, v := range c.QueryArray("kind") {
		for k := range strings.SplitSeq(v, ",") {
			k = strings.ToUpper(strings.TrimSpace(k))
			if k == "" {
				continue
			}
			if _, ok := transport.ParseEventKind(k); !ok {
				return q, errorf(http.StatusBadRequest, "unknown kind %q (kinds: %s)", k, kindNames())
			}
			q.Kinds = append(q.Kinds, k)
		}
	}
	if v := strings.ToUpper(c.Query("status")); v != "" {
		if v != "SUCCESS" && v != "FAILURE" {
			return q, errorf(http.StatusBadRequest, "status must be SUCCESS or FAILURE")
		}
		q.Status = v
	}
	if v := c.Query("conn"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "conn=%q is not a connection id", v)
		}
		q.ConnID = n
	}
	if v := c.Query("run"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return q, errorf(http.StatusBadRequest, "run=%q is not a run number (1, 2, ...)", v)
		}
		q.Run = n
	}
	if v := c.Query("addr"); v != "" {
		_, errAP := netip.ParseAddrPort(v)
		_, errA := netip.ParseAddr(strings.Trim(v, "[]"))
		if errAP != nil && errA != nil {
			return q, errorf(http.StatusBadRequest, "addr=%q is neither ip nor ip:port", v)
		}
		q.Addr = v
	}
	if v := c.Query("min_retrans"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "min_retrans=%q is not a count of segments", v)
		}
		q.MinRetrans = uint32(n)
	}
	q.CallID = c.Query("call_id")
	q.Text = c.Query("text")
	q.Cursor = c.Query("cursor")
	return q, nil
}

func kindNames() string {
	var names []string
	for _, k := range transport.EventKinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// getEvents answers from the ring, or from the history store with
// source=history (the default when call_id, cursor or run is given).
func (s *Server) getEvents(c *gin.Context) error {
	q, err := parseEventQuery(c)
	if err != nil {
		return err
	}
	source := c.Query("source")
	if source == "" {
		source = "ring"
		if q.historyOnly() {
			source = "history"
		}
	}
	switch source {
	case "ring":
		if q.historyOnly() {
			return errorf(http.StatusBadRequest, "call_id, cursor and run need source=history")
		}
		p := s.ring.Query(q)
		body := eventsBody{Source: "ring", Events: p.Events, More: p.More, OldestSeq: p.Oldest, LastSeq: p.Last}
		if body.Events == nil {
			body.Events = []Event{}
		}
		body.NextSince = max(q.SinceSeq, p.Last)
		if p.More && len(p.Events) > 0 && (q.SinceSeq > 0 || !q.Since.IsZero()) {
			body.NextSince = p.Events[len(p.Events)-1].Seq
		}
		c.JSON(http.StatusOK, body)
		return nil
	case "history":
		if err := s.historyQuery(&q); err != nil {
			return err
		}
		events, next, err := s.deps.Events.Query(c.Request.Context(), q)
		if err != nil {
			return storeError(err)
		}
		if events == nil {
			events = []Event{}
		}
		c.JSON(http.StatusOK, eventsBody{Source: "history", Events: events, More: next != "", NextCursor: next})
		return nil
	}
	return errorf(http.StatusBadRequest, `source must be "ring" or "history"`)
}

// historyQuery checks that the history is on and that q suits it.
func (s *Server) historyQuery(q *EventQuery) error {
	if s.deps.Events == nil {
		return errorf(http.StatusNotFound, "the event history is not enabled (history.enabled in the config)")
	}
	if q.SinceSeq > 0 {
		return errorf(http.StatusBadRequest, "the event history takes since= as an RFC 3339 time")
	}
	return nil
}

// storeError answers an EventStore error: 400 for a query it refused
// (ErrBadEventQuery), 503 for anything else.
func storeError(err error) error {
	if errors.Is(err, ErrBadEventQuery) {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	return errorf(http.StatusServiceUnavailable, "event history: %v", err)
}
