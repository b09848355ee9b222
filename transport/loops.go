package transport

import (
	"log/slog"
	"runtime"
)

// loops are the transport's event loops for parked connections: one
// poller (an epoll set and the goroutine that leads it) per P of the
// runtime when they start, a connection parking in the loop its id picks.
// A loop handles its connections' bytes on its own goroutine (resume), so
// that one loop a P keeps the parked connections' traffic on every CPU
// the runtime uses, without a goroutine a wake.
type loops struct {
	ps []*poller
}

// startLoops starts the loops; nil when one cannot start (an error is
// logged, and connections keep their readers).
func startLoops(t *Transport, log *slog.Logger) *loops {
	l := &loops{ps: make([]*poller, runtime.GOMAXPROCS(0))}
	for i := range l.ps {
		p := startPoller(t, log)
		if p == nil {
			for _, q := range l.ps[:i] {
				q.stop()
			}
			return nil
		}
		l.ps[i] = p
	}
	return l
}

// of is the loop of connection c; nil without loops.
func (l *loops) of(c *Conn) *poller {
	if l == nil {
		return nil
	}
	return l.ps[c.id%uint64(len(l.ps))]
}

// stop stops every loop.
func (l *loops) stop() {
	for _, p := range l.ps {
		p.stop()
	}
}
