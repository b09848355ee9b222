package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is a SIP-over-TCP transport: listeners, the connection table,
// framing, writes and connects, and the network-event stream.
type Transport struct {
	opts    Options
	handler Handler

	nextID  atomic.Uint64
	tracing atomic.Bool
	filter  atomic.Pointer[func(ConnInfo) bool]
	obs     observers
	callIDs *CallIDSet // which Call-IDs each connection carried
	// keepAlive is the TCP keepalive of every socket (keepalive.go).
	keepAlive keepAliveSetting

	mu        sync.Mutex
	listeners []net.Listener
	byID      map[uint64]*Conn
	byRemote  map[netip.AddrPort]*Conn
	open      int // connections in the table (connecting ones included)
	shutdown  bool

	subsMu     sync.RWMutex
	subs       []*Subscription
	subsClosed bool

	// loops park idle connections (park.go, loops.go); started at the
	// first park.
	loops      *loops
	pollerOnce sync.Once
	parkedNow  atomic.Int64 // connections parked now

	acceptors sync.WaitGroup // accept loops
	readers   sync.WaitGroup // connection readers and parallel handlers
	bufs      sync.Pool      // read buffers (*[]byte), taken only while bytes wait
	states    sync.Pool      // framing states (*readState), taken with the buffers
	readings  sync.Pool      // readers' states (*reading), taken while a reader runs
	helds     sync.Pool      // messages held for a read batch (*heldWrites), held.go
	// observations are the Observations emitted (*Observation), given
	// back once the observers returned.
	observations sync.Pool

	stats   counters
	sampler *sampler // the TCP_INFO sampler, nil when off
	tcpHist tcpHists // the figures at close, by listener and direction
}

// New returns a Transport with the given options that hands the messages it
// reads to h. Nothing listens until Listen is called.
func New(opts Options, h Handler) *Transport {
	if h == nil {
		h = HandlerFunc(func(*Message) {})
	}
	t := &Transport{
		opts:     opts,
		handler:  h,
		byID:     make(map[uint64]*Conn),
		byRemote: make(map[netip.AddrPort]*Conn),
		callIDs:  NewCallIDSet(opts.CallIDMemory),
	}
	t.keepAlive = newKeepAliveSetting(&t.opts)
	t.tracing.Store(opts.TraceOn)
	if opts.TraceFilter != nil {
		f := opts.TraceFilter
		t.filter.Store(&f)
	}
	t.bufs.New = func() any {
		b := make([]byte, 0, readBufferSize)
		return &b
	}
	t.states.New = func() any { return new(readState) }
	t.readings.New = newReading
	t.helds.New = newHeldWrites
	t.observations.New = func() any { return new(Observation) }
	t.startSampler()
	return t
}

// Listen starts serving SIP over TCP on spec ("tcp:IP[:port]"; no port means
// tcp_port) and returns the bound address (the real port when spec asks for
// port 0).
func (t *Transport) Listen(spec string) (netip.AddrPort, error) {
	ap, err := ParseSocket(spec, t.opts.port())
	if err != nil {
		return netip.AddrPort{}, err
	}
	lc, err := t.keepAlive.listenConfig()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("listen %s: %w", spec, err)
	}
	l, err := lc.Listen(context.Background(), "tcp", ap.String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("listen %s: %w", spec, err)
	}
	bound := l.Addr().(*net.TCPAddr).AddrPort()
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	tl := l.(*net.TCPListener)
	ln, acceptLoop := l, func() { t.acceptLoop(tl, bound) }
	if t.opts.parkAfter() > 0 && t.startPolling() != nil {
		if rl := rawListen(tl); rl != nil {
			ln, acceptLoop = rl, func() { t.acceptLoopRaw(rl, bound) }
		}
	}
	t.mu.Lock()
	if t.shutdown {
		t.mu.Unlock()
		ln.Close()
		return netip.AddrPort{}, ErrClosed
	}
	t.listeners = append(t.listeners, ln)
	t.acceptors.Add(1)
	t.mu.Unlock()
	go acceptLoop()
	return bound, nil
}

// Listeners returns the addresses being served.
func (t *Transport) Listeners() []netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]netip.AddrPort, 0, len(t.listeners))
	for _, l := range t.listeners {
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return out
}

func (t *Transport) acceptLoop(l *net.TCPListener, bound netip.AddrPort) {
	listener := &bound // shared by the listener's connections
	t.acceptEach(bound, func() error {
		nc, err := l.AcceptTCP()
		if err != nil {
			return err
		}
		t.accepted(nc, listener)
		// Let the new reader run before the next accept: in an accept
		// burst, readers then read their first bytes and park as they go,
		// instead of thousands of them waiting to run at once (the runtime
		// keeps every goroutine descriptor it ever made, ~460 bytes each).
		runtime.Gosched()
		return nil
	})
}

// acceptLoopRaw is acceptLoop for a listener whose connections are
// accepted raw and start parked (acceptraw_linux.go).
func (t *Transport) acceptLoopRaw(l *rawListener, bound netip.AddrPort) {
	listener := &bound // shared by the listener's connections
	t.acceptEach(bound, func() error {
		fd, remote, local, err := l.accept()
		if err != nil {
			return err
		}
		t.acceptedDetached(fd, remote, local, listener)
		return nil
	})
}

// acceptEach calls accept, which takes one connection, until the listener
// is closed. Other failures (out of descriptors and the like) are retried
// after a backoff, as net/http does, which bounds the log to a line a
// second.
func (t *Transport) acceptEach(bound netip.AddrPort, accept func() error) {
	defer t.acceptors.Done()
	var backoff time.Duration
	for {
		err := accept()
		if err == nil {
			backoff = 0
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		t.opts.logger().Error("accept failed; retrying", "listener", "tcp:"+bound.String(), "err", err, "retry_in", backoff)
		time.Sleep(backoff)
	}
}

// acceptedDetached is accepted for a socket accepted raw: the connection
// starts detached and parked, and its loop handles its first bytes.
func (t *Transport) acceptedDetached(fd int, remote, local netip.AddrPort, listener *netip.AddrPort) {
	c := newConn(t, Inbound, remote, listener)
	c.local = local
	t.mu.Lock()
	if t.shutdown || t.open >= t.opts.maxConnections() {
		t.mu.Unlock()
		closeRefused(fd)
		t.refused(c)
		return
	}
	c.rc, c.w.writeFn = detachedFD(fd), c.w.writeOnce
	c.setState(StateOpen)
	t.insertLocked(c)
	t.mu.Unlock()
	t.stats.accepted.Add(1)
	c.mu.Lock()
	t.raise(c, EventAccepted, StatusSuccess, ReasonAccepted)
	c.mu.Unlock()
	if c.park() { // counted as a park: every resume follows one
		c.resume(false, time.Now()) // its loop cannot watch it: a reader
	}
}

// refused counts and reports an accepted connection refused for
// tcp_max_connections or a shutdown.
func (t *Transport) refused(c *Conn) {
	t.stats.refused.Add(1)
	reason := "tcp_max_connections reached, connection refused"
	if t.shutdown {
		reason = "shutting down, connection refused"
	}
	t.raise(c, EventAcceptRefused, StatusFailure, reason)
}

// accepted puts a new inbound connection in the table, or refuses it when
// tcp_max_connections is reached.
func (t *Transport) accepted(nc *net.TCPConn, listener *netip.AddrPort) {
	c := newConn(t, Inbound, addrPortOf(nc.RemoteAddr()), listener)
	c.local = addrPortOf(nc.LocalAddr())
	t.mu.Lock()
	if t.shutdown || t.open >= t.opts.maxConnections() {
		t.mu.Unlock()
		nc.SetLinger(0)
		nc.Close()
		t.refused(c)
		return
	}
	if err := c.attach(nc); err != nil {
		t.mu.Unlock()
		nc.Close()
		t.stats.refused.Add(1)
		t.raise(c, EventAcceptRefused, StatusFailure, "cannot use accepted socket: "+err.Error())
		return
	}
	c.setState(StateOpen)
	t.insertLocked(c)
	t.readers.Add(1)
	t.mu.Unlock()
	t.stats.accepted.Add(1)
	c.mu.Lock()
	t.raise(c, EventAccepted, StatusSuccess, ReasonAccepted)
	c.mu.Unlock()
	go c.serve()
}

func (t *Transport) insertLocked(c *Conn) {
	t.byID[c.id] = c
	t.byRemote[c.remote] = c
	t.open++
}

func (t *Transport) removeLocked(c *Conn) {
	if t.byID[c.id] != c {
		return
	}
	delete(t.byID, c.id)
	if t.byRemote[c.remote] == c {
		delete(t.byRemote, c.remote)
	}
	for _, a := range c.aliasList() {
		if t.byRemote[a] == c {
			delete(t.byRemote, a)
		}
	}
	t.open--
}

// Conn returns the open connection with the given id, or nil.
func (t *Transport) Conn(id uint64) *Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// ConnByRemote returns an open (or connecting) connection to or from addr,
// or nil.
func (t *Transport) ConnByRemote(addr netip.AddrPort) *Conn {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byRemote[addr]
}

// AddAlias makes connection id reachable as addr too (RFC 5923: a Via with
// the alias parameter names the address the peer listens on), so that
// messages for addr reuse it.
func (t *Transport) AddAlias(id uint64, addr netip.AddrPort) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.byID[id]
	if c == nil || c.remote == addr {
		return
	}
	if _, taken := t.byRemote[addr]; taken {
		return
	}
	if len(c.aliasList()) >= maxAliases {
		return
	}
	t.byRemote[addr] = c
	if c.aliases == nil {
		c.aliases = new([]netip.AddrPort)
	}
	*c.aliases = append(*c.aliases, addr)
}

// CloseConn closes the connection with the given id, raising its CLOSED
// event with reason; it reports whether there was such a connection.
func (t *Transport) CloseConn(id uint64, reason string) bool {
	c := t.Conn(id)
	if c == nil {
		return false
	}
	c.Close(reason)
	return true
}

// SetTracing flips the trace switch (trace_on) and tells every observer.
// Off: observers of traced observations see nothing new from now on. On:
// connections opened from now on are traced from their open event;
// connections already open are traced from their next event or message,
// their filter verdict decided then.
func (t *Transport) SetTracing(on bool) {
	t.tracing.Store(on)
	t.obs.emit(&Observation{Kind: ObservedTraceSwitch, TraceOn: on})
}

// Tracing reports the trace switch.
func (t *Transport) Tracing() bool { return t.tracing.Load() }

// SetTraceFilter replaces the trace filter (trace_filter_route) for
// connections whose verdict is not decided yet; nil traces every connection.
func (t *Transport) SetTraceFilter(f func(ConnInfo) bool) {
	if f == nil {
		t.filter.Store(nil)
		return
	}
	t.filter.Store(&f)
}

// Subscribe returns a new subscription to the event stream with a queue of
// queueLen events (0 means 4096).
func (t *Transport) Subscribe(name string, queueLen int, gate Gate) *Subscription {
	if queueLen <= 0 {
		queueLen = DefaultEventQueueLen
	}
	s := &Subscription{name: name, gate: gate, ch: make(chan Event, queueLen)}
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	if t.subsClosed {
		s.close()
		return s
	}
	t.subs = append(t.subs, s)
	t.obs.add(s, gate)
	return s
}

// Unsubscribe stops deliveries to s and closes its queue.
func (t *Transport) Unsubscribe(s *Subscription) {
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	for i, x := range t.subs {
		if x == s {
			t.obs.remove(s)
			t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
			s.close()
			return
		}
	}
}

// raise hands one event to the observers. The caller holds c.mu, which
// orders a connection's events.
func (t *Transport) raise(c *Conn, kind EventKind, status Status, reason string) {
	t.raiseTCP(c, kind, status, reason, nil)
}

// raiseTCP is raise with the kernel's figures of the connection (nil for
// none).
func (t *Transport) raiseTCP(c *Conn, kind EventKind, status Status, reason string, ti *TCPInfo) {
	t.stats.events.Add(1)
	// The verdict is decided at the first event while tracing is on, even
	// with no observer, so that the connection table shows it.
	traced := c.traceable()
	if !t.obs.wants(traced) {
		return
	}
	at := time.Now().Truncate(time.Microsecond)
	if kind == EventAccepted || kind == EventConnected {
		at = c.openedTime() // when the accept or the connect returned
	}
	o := t.takeObservation()
	o.Kind, o.Traced, o.Event = ObservedEvent, traced, Event{
		Kind:      kind,
		Status:    status,
		ConnID:    c.id,
		Direction: c.dir,
		Time:      at,
		Local:     c.local,
		Remote:    c.remote,
		Listener:  c.listenerAddr(),
		Reason:    reason,
		TCP:       ti,
	}
	if kind == EventClosed {
		o.CallIDs = c.recentCalls()
	}
	t.obs.emit(o)
	t.putObservation(o)
}

func (t *Transport) closeSubscriptions() {
	t.subsMu.Lock()
	defer t.subsMu.Unlock()
	if t.subsClosed {
		return
	}
	t.subsClosed = true
	for _, s := range t.subs {
		t.obs.remove(s)
		s.close()
	}
}

// Shutdown stops accepting, stops reading, lets handlers finish and queued
// writes go out until ctx is done, then closes every connection with a
// CLOSED event and closes the subscriptions' queues. When ctx ends first it
// returns ctx.Err() (joined with what it was waiting for) without waiting
// for a handler that does not return.
func (t *Transport) Shutdown(ctx context.Context) error {
	conns := t.stopAccepting()
	for _, c := range conns {
		c.drain()
	}
	var errs []error
	if err := waitGroup(ctx, &t.readers); err != nil {
		errs = append(errs, fmt.Errorf("waiting for handlers: %w", err))
	}
	for _, c := range conns {
		if err := c.waitFlushed(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flushing connection %d: %w", c.id, err))
			break
		}
	}
	for _, c := range t.snapshotConns() {
		c.closeWith(0, StatusSuccess, "Shutdown")
	}
	if len(errs) == 0 {
		if err := waitGroup(ctx, &t.readers); err != nil {
			errs = append(errs, fmt.Errorf("waiting for readers: %w", err))
		}
	}
	t.stopPolling()
	t.closeSubscriptions()
	return errors.Join(errs...)
}

// Close closes listeners and connections at once, with CLOSED events.
func (t *Transport) Close() error {
	conns := t.stopAccepting()
	for _, c := range conns {
		c.closeWith(0, StatusSuccess, "Transport closed")
	}
	for _, c := range t.snapshotConns() {
		c.closeWith(0, StatusSuccess, "Transport closed")
	}
	t.readers.Wait()
	t.stopPolling()
	t.closeSubscriptions()
	return nil
}

func (t *Transport) stopAccepting() []*Conn {
	t.stopSampler()
	t.mu.Lock()
	t.shutdown = true
	ls := t.listeners
	t.listeners = nil
	t.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	t.acceptors.Wait()
	return t.snapshotConns()
}

func (t *Transport) snapshotConns() []*Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Conn, 0, len(t.byID))
	for _, c := range t.byID {
		out = append(out, c)
	}
	return out
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
