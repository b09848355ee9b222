package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// HeartbeatInterval is how often an idle event stream sends a comment line,
// so that proxies and clients see it alive.
const HeartbeatInterval = 15 * time.Second

// helloEvent is the data of the first event of a stream.
type helloEvent struct {
	LastSeq uint64 `json:"last_seq"`
	Trace   string `json:"trace"`
}

// gapEvent reports events the reader missed because it fell behind the ring.
type gapEvent struct {
	Missed uint64 `json:"missed"`
}

// streamEvents is GET /events/stream: Server-Sent Events. It sends at once a
// "hello" event ({"last_seq":N,"trace":"on"}), then every network event that
// passes the filters as an unnamed event with id = its sequence number. It
// starts after since= (a sequence number) or the Last-Event-ID header when
// given, else with new events only. A reader that falls behind the ring gets
// a "gap" event with the number of events it missed.
func (s *Server) streamEvents(c *gin.Context) error {
	q, err := parseEventQuery(c)
	if err != nil {
		return err
	}
	if !q.Since.IsZero() {
		return errorf(http.StatusBadRequest, "the stream takes since= as a sequence number")
	}
	if id := c.GetHeader("Last-Event-ID"); id != "" {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			q.SinceSeq = n
		}
	}
	if c.Query("since") == "" && c.GetHeader("Last-Event-ID") == "" {
		q.SinceSeq = s.ring.LastSeq()
	}
	q.Limit = 256
	rc := http.NewResponseController(c.Writer)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		s.log.Debug("event stream keeps the write timeout", "err", err)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	s.sseClients.Add(1)
	defer s.sseClients.Add(-1)

	w := bufio.NewWriter(c.Writer)
	send := func() error {
		if err := w.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	writeSSE(w, "hello", "", helloEvent{LastSeq: s.ring.LastSeq(), Trace: onOff(s.deps.Transport.Tracing())})
	if err := send(); err != nil {
		return nil
	}
	ctx := c.Request.Context()
	heartbeat := time.NewTicker(HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		wake := s.ring.Wait(q.SinceSeq)
		p := s.ring.Query(q)
		if p.Oldest > q.SinceSeq+1 {
			writeSSE(w, "gap", "", gapEvent{Missed: p.Oldest - q.SinceSeq - 1})
		}
		for i := range p.Events {
			writeSSE(w, "", strconv.FormatUint(p.Events[i].Seq, 10), &p.Events[i])
		}
		if p.More {
			q.SinceSeq = p.Events[len(p.Events)-1].Seq
		} else {
			q.SinceSeq = max(q.SinceSeq, p.Last)
		}
		if w.Buffered() > 0 {
			if err := send(); err != nil {
				return nil
			}
		}
		if p.More {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			if _, err := w.WriteString(": ping\n\n"); err != nil {
				return nil
			}
			if err := send(); err != nil {
				return nil
			}
		case <-wake:
		}
	}
}

// writeSSE writes one event; errors surface at the next flush.
func writeSSE(w *bufio.Writer, event, id string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		b = fmt.Appendf(nil, `{"error":%q}`, err.Error())
	}
	if event != "" {
		w.WriteString("event: " + event + "\n")
	}
	if id != "" {
		w.WriteString("id: " + id + "\n")
	}
	w.WriteString("data: ")
	w.Write(b)
	w.WriteString("\n\n")
}
