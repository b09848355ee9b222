package hep

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// runStream sends packets back to back over TCP or TLS, every queued
// packet in one write (under steady load waiting on its timer, not on the
// queue: see worker.nextOrWake), and reconnects with exponential backoff. While the
// collector cannot be reached, every failed connect drops what was queued
// (not_connected), so memory stays bounded by the queue and old packets do
// not pile up; a connection that fails within stableAfter of being opened
// does not reset the backoff, so a flapping collector is not hammered.
//
// A connection opened during an outage ends it only once it has lived
// recoverAfter with no write failing (checked at its first write or wake-up
// after that), so that a collector that accepts and drops connections is
// one outage, logged once, not a down/up pair per reconnect. When the
// outage began with a write that timed out (a collector that stopped
// reading), the probation is at least writeTimeout, and a check only
// happens between writes: a collector that still does not read blocks the
// writes past it, and its outage goes on, logged once.
func (w *worker) runStream() {
	s := w.s
	var (
		conn    net.Conn
		write   func([]byte) error // streamWriter(conn)
		dead    chan struct{}
		upSince time.Time
		backoff time.Duration
		ever    bool
		// recoverTimer fires when the connection opened during an outage has
		// lived long enough (probation); nil when there is nothing to check.
		recoverTimer *time.Timer
		probation    time.Duration
		// stalled: the outage began with a write that timed out (a
		// collector that stopped reading).
		stalled bool
		batch   = &w.out
	)
	stopRecover := func() {
		if recoverTimer != nil {
			recoverTimer.Stop()
			recoverTimer = nil
		}
	}
	// recovered ends the outage when the connection has lived long enough.
	recovered := func() {
		if recoverTimer != nil && time.Since(upSince) >= probation {
			stopRecover()
			stalled = false
			s.cameUp()
		}
	}
	lost := func(err error) {
		if !s.isDown() {
			stalled = errors.Is(err, os.ErrDeadlineExceeded)
		}
		conn.Close()
		conn = nil
		s.connected.Store(false)
		stopRecover()
		if time.Since(upSince) >= s.opts.stableAfter {
			backoff = 0
		} else {
			backoff = nextBackoff(backoff, s.opts.backoffMin, s.opts.backoffMax)
		}
		s.wentDown(err)
	}
	defer func() {
		// A batch held back for a new connection is lost when stopping.
		s.failed(dropNotConnected, batch.len())
		batch.reset()
		stopRecover()
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		if conn == nil {
			if !s.sleep(backoff) {
				return
			}
			c, err := s.dialStream()
			if err != nil {
				s.connected.Store(false)
				s.c.connectFailures.Add(1)
				s.wentDown(err)
				s.failed(dropNotConnected, batch.len())
				batch.reset()
				w.dropQueued(dropNotConnected)
				backoff = nextBackoff(backoff, s.opts.backoffMin, s.opts.backoffMax)
				if s.ctx.Err() != nil {
					return
				}
				continue
			}
			if ever {
				s.c.reconnects.Add(1)
			}
			ever = true
			conn, upSince = c, time.Now()
			write = streamWriter(c)
			dead = watchClose(c)
			w.setConn(c)
			s.connected.Store(true)
			if s.isDown() {
				// A collector that stopped reading takes the first writes
				// of a new connection into its buffers and stalls again:
				// it must take writes for longer than a write may wait.
				probation = s.opts.recoverAfter
				if stalled {
					probation = max(probation, s.opts.writeTimeout)
				}
				recoverTimer = time.NewTimer(probation)
			}
		}
		if batch.len() == 0 {
			var wake <-chan time.Time
			if recoverTimer != nil {
				wake = recoverTimer.C
			}
			ok, woke := w.nextOrWake(dead, wake)
			if woke && !isClosed(dead) {
				// The timer fired: the connection has lived its probation.
				recoverTimer = nil
				stalled = false
				s.cameUp()
				continue
			}
			if !ok {
				if isClosed(dead) {
					lost(errors.New("connection closed by the collector"))
					continue
				}
				return
			}
		}
		w.more()
		if isClosed(dead) {
			// The collector closed the connection: keep the batch for the
			// next one instead of writing it into a dying socket.
			lost(errors.New("connection closed by the collector"))
			continue
		}
		conn.SetWriteDeadline(time.Now().Add(s.opts.writeTimeout))
		if err := write(batch.b); err != nil {
			s.failed(dropSendError, batch.len())
			batch.reset()
			lost(fmt.Errorf("hep: write to %s: %w", s.dest.Address(), err))
			continue
		}
		w.sent(batch.len(), len(batch.b))
		s.sentRun(batch)
		batch.reset()
		recovered()
	}
}

func (s *sender) dialStream() (net.Conn, error) {
	nd := &net.Dialer{Timeout: s.opts.dialTimeout, KeepAlive: 30 * time.Second}
	if s.dest.Transport == TLS {
		cfg := s.opts.tlsConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = s.dest.Host
		}
		d := &tls.Dialer{NetDialer: nd, Config: cfg}
		c, err := d.DialContext(s.ctx, "tcp", s.dest.Address())
		if err != nil {
			return nil, fmt.Errorf("hep: dial tls %s: %w", s.dest.Address(), err)
		}
		return c, nil
	}
	c, err := nd.DialContext(s.ctx, "tcp", s.dest.Address())
	if err != nil {
		return nil, fmt.Errorf("hep: dial tcp %s: %w", s.dest.Address(), err)
	}
	return c, nil
}

// watchClose reads (and discards) what the collector sends, and closes the
// returned channel when the connection ends, so that a closed collector is
// noticed before the next write instead of after it.
func watchClose(c net.Conn) chan struct{} {
	dead := make(chan struct{})
	go func() {
		defer close(dead)
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	return dead
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
