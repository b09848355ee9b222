package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// HeartbeatInterval is how often an idle event stream sends a comment line,
// so that proxies and clients see it alive.
const HeartbeatInterval = 15 * time.Second

// streamPause is how long an event stream rests after new events woke it,
// letting those of a burst gather: under load a stream writes about twenty
// times a second, many events a write, rather than once per event; the
// live view is at most that much later. Stats.Web.StreamWakes counts the
// wakes.
const streamPause = 50 * time.Millisecond

// StreamSendBuffer bounds the kernel send buffer (SO_SNDBUF) of an event
// stream's connection, and so what a client that stops reading holds until
// the write timeout drops it (Linux doubles it for its bookkeeping, and
// lets a write take one more segment: at most about 200 kB queued; 2.8 MB
// without it): about 160 events of 400 bytes, 650 kB/s at a 100 ms round
// trip.
const StreamSendBuffer = 64 << 10

// helloEvent is the data of the first event of a stream.
type helloEvent struct {
	LastSeq uint64 `json:"last_seq"`
	Trace   string `json:"trace"`
	// RunID is the server's (StatsBody.RunID).
	RunID string `json:"run_id"`
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
// a "gap" event with the number of events it missed. At most
// Config.MaxEventStreams streams are open at once (one more is a 503), and
// each write has Config.StreamWriteTimeout to go out: a client that stops
// reading is dropped.
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
	if n := s.sseClients.Add(1); n > int64(s.cfg.maxEventStreams()) {
		s.sseClients.Add(-1)
		refused := s.sseRefused.Add(1)
		if refused == 1 || refused%100 == 0 {
			s.log.Warn("event stream refused: web.max_event_streams open", "max", s.cfg.maxEventStreams(),
				"remote", c.Request.RemoteAddr, "refused_total", refused)
		}
		c.Header("Retry-After", "5")
		return errorf(http.StatusServiceUnavailable, "%d event streams are open, the most web.max_event_streams allows", s.cfg.maxEventStreams())
	}
	defer s.sseClients.Add(-1)

	rc := http.NewResponseController(c.Writer)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	timeout := s.cfg.streamWriteTimeout()
	dw := &deadlineWriter{w: c.Writer, rc: rc, timeout: timeout}
	dw.tcp, _ = c.Request.Context().Value(connKey{}).(*net.TCPConn)
	if dw.tcp != nil {
		if err := dw.tcp.SetWriteBuffer(StreamSendBuffer); err != nil {
			s.log.Debug("event stream keeps the default send buffer", "err", err)
		}
	}
	// The end of the stream (net/http's last chunk) gets a deadline of its
	// own, not what is left of the last event's.
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(timeout)) }()
	w := bufio.NewWriter(dw)
	// send writes what is buffered, each write within the stream's write
	// timeout; a client that does not take it in time is dropped.
	send := func() bool {
		err := w.Flush()
		if err == nil {
			err = dw.flush()
		}
		if err == nil {
			return true
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.sseTimedOut.Add(1)
			s.log.Info("event stream dropped: the client took no data within the write timeout",
				"remote", c.Request.RemoteAddr, "timeout", timeout)
		}
		return false
	}
	writeSSE(w, "hello", "", helloEvent{LastSeq: s.ring.LastSeq(), Trace: onOff(s.deps.Transport.Tracing()), RunID: s.runID})
	if !send() {
		return nil
	}
	ctx := c.Request.Context()
	heartbeat := time.NewTicker(HeartbeatInterval)
	defer heartbeat.Stop()
	pause := time.NewTimer(streamPause)
	defer pause.Stop()
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
		if w.Buffered() > 0 && !send() {
			return nil
		}
		if p.More {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			w.WriteString(": ping\n\n")
			if !send() {
				return nil
			}
		case <-wake:
			// Let the events of a burst gather: under load a stream
			// then wakes about every streamPause, not for every event.
			s.sseWakes.Add(1)
			pause.Reset(streamPause)
			select {
			case <-ctx.Done():
				return nil
			case <-pause.C:
			}
		}
	}
}

// deadlineWriter gives every write of an event stream its own deadline.
// While a write is under way, and after one failed, the connection lingers
// 0 s, so that when the deadline ends it (net/http then closes the
// connection, at once or when the handler returns) the close is a reset:
// the kernel drops what a client that stopped reading left in the send
// queue at once, rather than keeping it for retransmissions. After a write
// that went out the connection closes as any other.
type deadlineWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	tcp     *net.TCPConn // nil when the writer has no TCP connection (a test recorder)
	timeout time.Duration
}

// arm sets the deadline of the next write and the reset on close. A writer
// without deadlines (a test recorder) keeps the server's write timeout only.
func (d *deadlineWriter) arm() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	if d.tcp != nil {
		_ = d.tcp.SetLinger(0)
	}
}

// done restores the ordinary close after a write that went out.
func (d *deadlineWriter) done(err error) error {
	if err == nil && d.tcp != nil {
		_ = d.tcp.SetLinger(-1)
	}
	return err
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.arm()
	n, err := d.w.Write(p)
	return n, d.done(err)
}

// flush sends what net/http buffered.
func (d *deadlineWriter) flush() error {
	d.arm()
	return d.done(d.rc.Flush())
}

// connKey is the context key of a request's connection.
type connKey struct{}

// withConn is the server's ConnContext: it keeps the connection in the
// context of its requests, for deadlineWriter.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
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
