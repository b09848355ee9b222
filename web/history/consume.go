package history

import (
	"time"

	"github.com/sipwire/sipwire/transport"
)

const (
	// consumeBurst bounds the events a consumer moves into the queue per
	// lock.
	consumeBurst = 256
	// consumePause is how long a consumer lets events gather in its
	// channel after taking them. A goroutine woken for every event costs
	// more CPU than storing the event (the load benchmark's one connection
	// per call: two wakes a call); pausing, the consumer wakes about once
	// per consumePause under load, and never when idle. The channel must
	// hold what arrives meanwhile: 8192 events hold 800,000 events/s.
	consumePause = 10 * time.Millisecond
)

// consume moves events from src into the queue until src is closed or the
// store stops; on stop it moves what src already holds, then returns. After
// taking what src holds, it pauses for consumePause.
func (s *Store) consume(src <-chan transport.Event) {
	defer s.consumers.Done()
	buf := make([]transport.Event, 0, consumeBurst)
	pause := time.NewTimer(consumePause)
	defer pause.Stop()
	for {
		select {
		case e, ok := <-src:
			if !ok {
				return
			}
			buf = append(buf[:0], e)
			if !s.takeAll(src, buf) {
				return
			}
		case <-s.stopping:
			s.drain(src, buf)
			return
		}
		pause.Reset(consumePause)
		select {
		case <-pause.C:
		case <-s.stopping:
			s.drain(src, buf)
			return
		}
	}
}

// takeAll moves buf and then what src holds into the queue, a burst per
// lock; it reports false when src is closed.
func (s *Store) takeAll(src <-chan transport.Event, buf []transport.Event) bool {
	for {
		open := gather(src, &buf, consumeBurst)
		s.enqueue(buf)
		if !open {
			return false
		}
		if len(buf) < consumeBurst {
			return true
		}
		buf = buf[:0]
	}
}

// drain moves what src holds into the queue, waiting for room: Close loses
// nothing that was raised.
func (s *Store) drain(src <-chan transport.Event, buf []transport.Event) {
	for {
		buf = buf[:0]
		open := gather(src, &buf, consumeBurst)
		s.enqueueAll(buf)
		if !open || len(buf) < consumeBurst {
			return
		}
	}
}

// gather appends to buf what src holds now, up to n events in all; it
// reports false when src is closed.
func gather(src <-chan transport.Event, buf *[]transport.Event, n int) bool {
	for len(*buf) < n {
		select {
		case e, ok := <-src:
			if !ok {
				return false
			}
			*buf = append(*buf, e)
		default:
			return true
		}
	}
	return true
}
