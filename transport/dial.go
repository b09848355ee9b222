package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ResolveDest parses a destination "IP[:port]" (or "tcp:IP[:port]"),
// applying tcp_port when it names no port.
func (t *Transport) ResolveDest(hostport string) (netip.AddrPort, error) {
	return ParseSocket(hostport, t.opts.port())
}

// Send delivers one SIP message to dst: over an open connection to that
// peer when there is one (inbound or outbound, or one that dst is an alias
// of), else over a new one; concurrent sends to one peer make one connect.
//
// With tcp_async=1, Send waits for a new connect up to
// tcp_async_local_connect_timeout; if it has not finished by then, the
// message is queued behind it, Send returns nil, and notify (when not nil) is
// called with the error if the connect or the queued write later fails. A
// failure known before Send returns is returned, and notify is not called.
// With tcp_async=0, Send waits for the connect and the write.
func (t *Transport) Send(dst netip.AddrPort, data []byte, notify func(error)) error {
	return t.SendMessage(dst, data, nil, notify)
}

// SendMessage is Send for a message whose Call-ID is callID: observers
// receive it with the message (see Conn.WriteMessage).
func (t *Transport) SendMessage(dst netip.AddrPort, data, callID []byte, notify func(error)) error {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	c, created, err := t.connFor(dst)
	if err != nil {
		return err
	}
	m := &outMessage{callID: callID}
	if !created {
		// Written, or queued behind a connect in progress.
		return c.w.write(data, m, notify)
	}
	go c.dial()
	if t.opts.SyncWrites {
		<-c.dialing.connected
	} else {
		timer := time.NewTimer(t.opts.localConnectTimeout())
		select {
		case <-c.dialing.connected:
		case <-timer.C:
		}
		timer.Stop()
	}
	select {
	case <-c.dialing.connected:
		if c.dialing.err != nil {
			return c.dialing.err
		}
	default:
	}
	return c.w.write(data, m, notify)
}

// dialing is what an outbound connection keeps of its connect.
type dialing struct {
	connected chan struct{} // closed when the connect succeeded or failed
	err       error         // why it failed, set before connected is closed
	cancel    context.CancelFunc
}

// connFor finds the connection for dst or puts a new outbound one in the
// table, in StateConnecting.
func (t *Transport) connFor(dst netip.AddrPort) (*Conn, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutdown {
		return nil, false, ErrClosed
	}
	if c := t.byRemote[dst]; c != nil {
		return c, false, nil
	}
	c := newConn(t, Outbound, dst, nil)
	if t.open >= t.opts.maxConnections() {
		t.stats.connectFailures.Add(1)
		err := fmt.Errorf("connect %s: %w", dst, ErrTooManyConnections)
		c.mu.Lock()
		t.raise(c, EventConnectFailed, StatusFailure, "tcp_max_connections reached, connect refused")
		c.mu.Unlock()
		return nil, false, err
	}
	c.dialing = &dialing{connected: make(chan struct{})}
	c.setState(StateConnecting)
	t.insertLocked(c)
	return c, true, nil
}

// dial connects an outbound connection within ConnectTimeout. If the connect
// takes longer than tcp_async_local_connect_timeout it raises CONNECT_START
// first; then CONNECTED, or CONNECT_FAILED and CLOSED.
func (c *Conn) dial() {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.connectTimeout())
	c.mu.Lock()
	c.dialing.cancel = cancel
	c.mu.Unlock()
	defer cancel()

	slow := time.AfterFunc(t.opts.localConnectTimeout(), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.State() == StateConnecting {
			t.raise(c, EventConnectStart, StatusSuccess, "Async connect in progress")
		}
	})
	d, err := t.keepAlive.dialer(t.sourceFor(c.remote))
	var nc net.Conn
	if err == nil {
		nc, err = d.DialContext(ctx, "tcp", c.remote.String())
	}
	slow.Stop()
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("%w after %s", ErrConnectTimeout, t.opts.connectTimeout())
		}
		c.connectFailed(fmt.Errorf("connect %s: %w", c.remote, err))
		return
	}
	tc := nc.(*net.TCPConn)
	c.mu.Lock()
	if c.State() != StateConnecting {
		c.mu.Unlock()
		tc.Close()
		c.dialing.err = fmt.Errorf("connect %s: %w", c.remote, ErrConnClosed)
		close(c.dialing.connected)
		return
	}
	if err := c.attach(tc); err != nil {
		c.mu.Unlock()
		tc.Close()
		c.connectFailed(fmt.Errorf("connect %s: %w", c.remote, err))
		return
	}
	c.local = addrPortOf(tc.LocalAddr())
	c.opened = time.Now().Truncate(time.Microsecond).UnixNano()
	c.lastActivity.Store(c.opened)
	c.setState(StateOpen)
	t.stats.connects.Add(1)
	t.raise(c, EventConnected, StatusSuccess, ReasonConnected)
	t.readers.Add(1)
	c.mu.Unlock()
	close(c.dialing.connected)
	c.w.mu.Lock()
	c.w.startFlushLocked()
	c.w.mu.Unlock()
	go c.serve()
}

func (c *Conn) connectFailed(err error) {
	c.t.stats.connectFailures.Add(1)
	c.dialing.err = err
	c.mu.Lock()
	if c.State() == StateConnecting {
		c.t.raise(c, EventConnectFailed, StatusFailure, "Async connect failed: "+err.Error())
	}
	c.mu.Unlock()
	c.w.fail(err)
	c.closeWith(0, StatusFailure, "Async connect failed")
	close(c.dialing.connected)
}

// sourceFor picks the listening address of dst's family as the source of an
// outbound connection, as OpenSIPS sends from its socket; nil lets the
// kernel choose.
func (t *Transport) sourceFor(dst netip.AddrPort) net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.listeners {
		ap := addrPortOf(l.Addr())
		a := ap.Addr()
		if a.IsUnspecified() || a.Is4() != dst.Addr().Is4() || a.IsLoopback() != dst.Addr().IsLoopback() {
			continue
		}
		return &net.TCPAddr{IP: a.AsSlice()}
	}
	return nil
}
