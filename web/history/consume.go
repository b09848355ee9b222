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
	// hold what arrives meanwhile: 8192 events hold 160,000 events/s. A
	// take of more than an eighth of the channel skips the pause.
	consumePause = 50 * time.Millisecond
)

// consume moves events from src into the queue until src is closed or the
// store stops; on stop it moves what src already holds, then returns. After
// taking what src holds, it pauses for consumePause, unless src was filling
// up.
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
			n, open := s.takeAll(src, buf)
			if !open {
				return
			}
			if n > cap(src)/8 {
				continue
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
// lock, and returns how many events it moved; it reports false when src is
// closed.
func (s *Store) takeAll(src <-chan transport.Event, buf []transport.Event) (int, bool) {
	n := 0
	for {
		open := gather(src, &buf, consumeBurst)
		s.enqueue(buf)
		n += len(buf)
		if !open {
			return n, false
		}
		if len(buf) < consumeBurst {
			return n, true
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
