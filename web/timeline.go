package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sipwire/sipwire/transport"
)

// The timeline: the transport's counters sampled every TimelineInterval,
// the last TimelineLen samples kept, so that the dashboard's rate chart
// shows the last 15 minutes as soon as it opens (GET /timeline).
const (
	TimelineInterval = time.Second
	TimelineLen      = 900
)

// timelineSample is the transport's cumulative counters at one time.
type timelineSample struct {
	at                                   time.Time
	events, messages, connectFailures    uint64
	limitHits, ioErrors, refused, closed uint64
}

func sampleOf(at time.Time, st *transport.Stats) timelineSample {
	return timelineSample{
		at:              at,
		events:          st.EventsRaised,
		messages:        st.MessagesIn + st.MessagesOut,
		connectFailures: st.ConnectFailures,
		limitHits: st.BadMessages + st.TooLarge + st.ChunkLimits + st.MessageTimeouts + st.QueueFull +
			st.WriteTimeouts,
		ioErrors: st.ReadErrors + st.WriteErrors,
		refused:  st.Refused,
		closed:   st.Closed,
	}
}

// TimelinePoint is what happened in one interval of the timeline.
type TimelinePoint struct {
	// Time is the end of the interval.
	Time     time.Time `json:"time"`
	Events   uint64    `json:"events"`
	Messages uint64    `json:"messages"`
	// ConnectFailures are failed outbound connects; LimitHits connections
	// closed by a limit or a framing error (idle timeouts excluded: they
	// are a normal end); IOErrors read and write errors; Refused inbound
	// connections refused over tcp_max_connections.
	ConnectFailures uint64 `json:"connect_failures"`
	LimitHits       uint64 `json:"limit_hits"`
	IOErrors        uint64 `json:"io_errors"`
	Refused         uint64 `json:"refused"`
	Closed          uint64 `json:"closed"`
}

// TimelineBody is the body of GET /timeline.
type TimelineBody struct {
	IntervalMS int64           `json:"interval_ms"`
	Points     []TimelinePoint `json:"points"`
}

// timeline is a ring of samples.
type timeline struct {
	mu      sync.Mutex
	samples []timelineSample // circular, len TimelineLen+1 once full
	next    int
	full    bool
	done    chan struct{}
}

func newTimeline() *timeline {
	return &timeline{samples: make([]timelineSample, 0, TimelineLen+1), done: make(chan struct{})}
}

func (t *timeline) add(s timelineSample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		t.samples = append(t.samples, s)
		t.full = len(t.samples) == cap(t.samples)
		return
	}
	t.samples[t.next] = s
	t.next = (t.next + 1) % len(t.samples)
}

// start takes the first sample at once, so that what happens from then on
// is counted, and samples every TimelineInterval on a goroutine until ctx
// ends.
func (t *timeline) start(ctx context.Context, stats func() transport.Stats) {
	st := stats()
	t.add(sampleOf(time.Now(), &st))
	go t.run(ctx, stats)
}

// run samples stats every TimelineInterval until ctx is done.
func (t *timeline) run(ctx context.Context, stats func() transport.Stats) {
	defer close(t.done)
	tick := time.NewTicker(TimelineInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			st := stats()
			t.add(sampleOf(now, &st))
		}
	}
}

// points returns the intervals between the samples held, oldest first.
func (t *timeline) points() []TimelinePoint {
	t.mu.Lock()
	ordered := make([]timelineSample, 0, len(t.samples))
	ordered = append(ordered, t.samples[t.next:]...)
	ordered = append(ordered, t.samples[:t.next]...)
	t.mu.Unlock()
	out := make([]TimelinePoint, 0, max(0, len(ordered)-1))
	for i := 1; i < len(ordered); i++ {
		a, b := &ordered[i-1], &ordered[i]
		out = append(out, TimelinePoint{
			Time:            b.at.UTC(),
			Events:          b.events - a.events,
			Messages:        b.messages - a.messages,
			ConnectFailures: b.connectFailures - a.connectFailures,
			LimitHits:       b.limitHits - a.limitHits,
			IOErrors:        b.ioErrors - a.ioErrors,
			Refused:         b.refused - a.refused,
			Closed:          b.closed - a.closed,
		})
	}
	return out
}

// getTimeline is GET /timeline: what happened in each second of the last
// 15 minutes (since the start, when it is more recent).
func (s *Server) getTimeline(c *gin.Context) error {
	c.JSON(http.StatusOK, TimelineBody{IntervalMS: TimelineInterval.Milliseconds(), Points: s.timeline.points()})
	return nil
}
