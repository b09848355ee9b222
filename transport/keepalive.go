package transport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// TCP keepalive: OpenSIPS' core parameters tcp_keepalive, tcp_keepidle,
// tcp_keepinterval and tcp_keepcount, with OpenSIPS' defaults and
// semantics. Keepalive is on unless switched off; a value of 0 leaves the
// system's value of that setting (net.ipv4.tcp_keepalive_time, _intvl,
// _probes: 7200 s, 75 s, 9 on a stock Linux); any non-zero value turns
// keepalive on even when it is switched off, as in OpenSIPS.
//
// Go's own default (15 s idle, 15 s interval, 9 probes, set on every
// accepted and dialed connection with four setsockopt calls) is never
// used. The settings go on the listening socket once, before it listens:
// Linux copies them to every connection it accepts, so an accepted
// connection costs no system call for them (keepalive_linux.go). A dialed
// connection gets them before its connect. A parked connection taken back
// from its descriptor gets them back (net.FileConn applies Go's default).

// Bounds of the keepalive settings (Linux' MAX_TCP_KEEPIDLE,
// MAX_TCP_KEEPINTVL and MAX_TCP_KEEPCNT).
const (
	MaxKeepAliveIdle     = 32767 * time.Second
	MaxKeepAliveInterval = 32767 * time.Second
	MaxKeepAliveCount    = 127
)

// ErrBadKeepAlive is the error of Listen and of connects when a keepalive
// option is out of its bounds.
var ErrBadKeepAlive = errors.New("transport: bad TCP keepalive setting")

// keepAlive is the resolved keepalive of the transport's sockets: on or
// off, and the settings to set (0: leave the system's value).
type keepAlive struct {
	on       bool
	idle     int // s, TCP_KEEPIDLE
	interval int // s, TCP_KEEPINTVL
	count    int // probes, TCP_KEEPCNT
}

// keepAlive resolves and checks the keepalive options.
func (o *Options) keepAlive() (keepAlive, error) {
	idle, err := keepAliveSeconds("tcp_keepidle", o.KeepAliveIdle, MaxKeepAliveIdle)
	if err != nil {
		return keepAlive{}, err
	}
	interval, err := keepAliveSeconds("tcp_keepinterval", o.KeepAliveInterval, MaxKeepAliveInterval)
	if err != nil {
		return keepAlive{}, err
	}
	if o.KeepAliveCount < 0 || o.KeepAliveCount > MaxKeepAliveCount {
		return keepAlive{}, fmt.Errorf("%w: tcp_keepcount %d is out of [0, %d]", ErrBadKeepAlive, o.KeepAliveCount, MaxKeepAliveCount)
	}
	k := keepAlive{idle: idle, interval: interval, count: o.KeepAliveCount}
	k.on = !o.DisableKeepAlive || k.idle > 0 || k.interval > 0 || k.count > 0
	return k, nil
}

// keepAliveSeconds is d in whole seconds, rounded up.
func keepAliveSeconds(name string, d, limit time.Duration) (int, error) {
	if d < 0 || d > limit {
		return 0, fmt.Errorf("%w: %s %s is out of [0, %ds]", ErrBadKeepAlive, name, d, limit/time.Second)
	}
	return int((d + time.Second - 1) / time.Second), nil
}

// keepAliveSetting is the transport's keepalive, resolved once by New, or
// why its options are bad (then every Listen and connect fails with it).
type keepAliveSetting struct {
	k   keepAlive
	err error
}

func newKeepAliveSetting(o *Options) keepAliveSetting {
	k, err := o.keepAlive()
	return keepAliveSetting{k: k, err: err}
}

// listenConfig is the ListenConfig of a listener: Go's per-connection
// keepalive off, the transport's settings on the listening socket.
func (s keepAliveSetting) listenConfig() (net.ListenConfig, error) {
	if s.err != nil {
		return net.ListenConfig{}, s.err
	}
	return s.k.listenConfig(), nil
}

// dialer is the Dialer of an outbound connection from local (nil: the
// kernel chooses).
func (s keepAliveSetting) dialer(local net.Addr) (net.Dialer, error) {
	if s.err != nil {
		return net.Dialer{}, s.err
	}
	return s.k.dialer(local), nil
}

// control sets the keepalive settings on a new socket (keepalive is off on
// a new socket, so nothing is set when it stays off).
func (k keepAlive) control(_, _ string, rc syscall.RawConn) error {
	if !k.on {
		return nil
	}
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = k.set(int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}
