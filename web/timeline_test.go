package web

import (
	"testing"
	"time"
)

// TestTimelineKeepsTheLastIntervals: past TimelineLen intervals the oldest
// go, and each point is the difference of two samples.
func TestTimelineKeepsTheLastIntervals(t *testing.T) {
	tl := newTimeline()
	at := time.Unix(1_700_000_000, 0)
	for i := range uint64(TimelineLen + 100) {
		tl.add(timelineSample{at: at.Add(time.Duration(i) * time.Second), events: i * i, messages: 3 * i, connectFailures: i / 10})
	}
	p := tl.points()
	if len(p) != TimelineLen {
		t.Fatalf("%d points, want %d", len(p), TimelineLen)
	}
	for k, pt := range p {
		i := uint64(100 + k) // the sample that ends the interval (samples 99 to 999 are kept)
		if !pt.Time.Equal(at.Add(time.Duration(i)*time.Second)) || pt.Events != i*i-(i-1)*(i-1) || pt.Messages != 3 ||
			pt.ConnectFailures != i/10-(i-1)/10 {
			t.Fatalf("point %d = %+v, want the interval ending at sample %d", k, pt, i)
		}
	}
}

// TestTimelineRoute: the server samples from its start, so the page's
// chart has points at once (after the first interval).
func TestTimelineRoute(t *testing.T) {
	f := newFixture(t)
	f.sipClient("timeline-1")
	var body TimelineBody
	for range 300 {
		body = decode[TimelineBody](t, f.do("GET", "/api/v1/timeline", ""))
		var msgs uint64
		for _, p := range body.Points {
			msgs += p.Messages
		}
		if msgs == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body.IntervalMS != 1000 || len(body.Points) == 0 {
		t.Fatalf("timeline %+v", body)
	}
	var msgs, events uint64
	for _, p := range body.Points {
		msgs += p.Messages
		events += p.Events
	}
	if msgs != 2 || events != 1 {
		t.Fatalf("timeline counts %d messages and %d events, want the OPTIONS, its 200 and the ACCEPTED", msgs, events)
	}
}
