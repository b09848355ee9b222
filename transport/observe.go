package transport

import (
	"sync/atomic"
	"time"
)

// ObservationKind says what an Observation reports.
type ObservationKind uint8

// The kinds of observations.
const (
	// ObservedEvent: a network event (Observation.Event).
	ObservedEvent ObservationKind = iota + 1
	// ObservedMessage: a SIP message read or written (Observation.Message),
	// sipwire's own responses included.
	ObservedMessage
	// ObservedTraceSwitch: the trace switch was flipped
	// (Observation.TraceOn). Every observer sees it, whatever its gate.
	ObservedTraceSwitch
)

// Observation is one fact the transport observed. Observations of one
// connection reach every observer in the order they happened, each stamped
// where the bytes met the kernel: a received message when the read that
// completed it returned, a sent message before its bytes were handed to the
// kernel (so the peer's answer can never precede it).
//
// Slices in an Observation alias the transport's buffers and are valid only
// during the Observe call: an observer copies what it keeps.
type Observation struct {
	Kind ObservationKind
	// Traced is the trace verdict: tracing is on and the connection passed
	// trace_filter_route. Observers of TracedOnly see only traced
	// observations (and the trace switch).
	Traced bool
	// Event is the network event of an ObservedEvent.
	Event Event
	// CallIDs are, for an EventClosed, the Call-IDs the connection carried
	// most recently (at most Options.CallIDsPerConn), oldest first.
	CallIDs []string
	// Message is the SIP message of an ObservedMessage.
	Message TracedMessage
	// TraceOn is the new state of an ObservedTraceSwitch.
	TraceOn bool
}

// Observer receives the transport's observations. Observe is called on the
// goroutine where the fact happened (a connection's reader, a writer, the
// trace switch's caller): it must copy what it keeps into its own bounded
// queue and return at once, dropping and counting when the queue is full.
type Observer interface {
	Observe(o *Observation)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(o *Observation)

// Observe calls f(o).
func (f ObserverFunc) Observe(o *Observation) { f(o) }

// Gate says which observations an observer receives.
type Gate uint8

// The gates.
const (
	// AllEvents: every observation, whether or not tracing is on (counters,
	// the dashboard, the event history).
	AllEvents Gate = iota
	// TracedEvents: only observations of traced connections while tracing
	// is on (HEP, OpenTelemetry, the pcap ring), and the trace switch.
	TracedEvents
)

type observerEntry struct {
	o    Observer
	gate Gate
}

// observers is the transport's list of observers, replaced whole on change
// so that emitting takes no lock.
type observers struct {
	list atomic.Pointer[[]observerEntry]
	// untraced: some observer takes untraced observations.
	untraced atomic.Bool
}

func (os *observers) add(o Observer, gate Gate) {
	for {
		old := os.list.Load()
		var next []observerEntry
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, observerEntry{o: o, gate: gate})
		if os.list.CompareAndSwap(old, &next) {
			if gate == AllEvents {
				os.untraced.Store(true)
			}
			return
		}
	}
}

func (os *observers) remove(o Observer) {
	for {
		old := os.list.Load()
		if old == nil {
			return
		}
		next := make([]observerEntry, 0, len(*old))
		untraced := false
		for _, e := range *old {
			if e.o != o {
				next = append(next, e)
				untraced = untraced || e.gate == AllEvents
			}
		}
		if os.list.CompareAndSwap(old, &next) {
			os.untraced.Store(untraced)
			return
		}
	}
}

// wants reports whether an observation with this trace verdict reaches
// any observer.
func (os *observers) wants(traced bool) bool {
	l := os.list.Load()
	return l != nil && len(*l) > 0 && (traced || os.untraced.Load())
}

// emit hands o to every observer whose gate admits it.
func (os *observers) emit(o *Observation) {
	l := os.list.Load()
	if l == nil {
		return
	}
	for _, e := range *l {
		if e.gate == TracedEvents && !o.Traced && o.Kind != ObservedTraceSwitch {
			continue
		}
		e.o.Observe(o)
	}
}

// How trace_on gates what is exported: the switch (Transport.tracing), the
// filter verdict of each connection decided once (traceable), the verdict
// carried by every observation (Observation.Traced), and the gate of each
// observer (observers.emit). All of it is in this file.

// traceable reports whether the connection's events go to traced
// subscribers now, deciding its filter verdict if tracing is on and the
// verdict is still open. The caller holds c.mu (or the connection is not
// shared yet).
func (c *Conn) traceable() bool {
	t := c.t
	if !t.tracing.Load() {
		return false
	}
	switch c.verdict.Load() {
	case verdictTrace:
		return true
	case verdictDrop:
		return false
	}
	v := verdictTrace
	if f := t.filter.Load(); f != nil && !(*f)(c.infoLocked()) {
		v = verdictDrop
	}
	if !c.verdict.CompareAndSwap(verdictUndecided, v) {
		v = c.verdict.Load()
	}
	return v == verdictTrace
}

// tracedNow is traceable for callers outside c.mu (message observations):
// it takes the lock only to decide a verdict.
func (c *Conn) tracedNow() bool {
	if !c.t.tracing.Load() {
		return false
	}
	switch c.verdict.Load() {
	case verdictTrace:
		return true
	case verdictDrop:
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.traceable()
}

// AddObserver adds an observer of the connections' events and messages and
// of the trace switch. Add observers before serving: one added later sees
// only what happens from then on.
func (t *Transport) AddObserver(o Observer, gate Gate) { t.obs.add(o, gate) }

// RemoveObserver stops deliveries to o.
func (t *Transport) RemoveObserver(o Observer) { t.obs.remove(o) }

// MessageDirection says whether a message was received or sent.
type MessageDirection uint8

// The message directions.
const (
	Received MessageDirection = iota
	Sent
)

// String returns "in" or "out".
func (d MessageDirection) String() string {
	if d == Sent {
		return "out"
	}
	return "in"
}

// TracedMessage is a SIP message read or written on a connection, as an
// Observation carries it. Data and CallID alias the transport's buffers.
type TracedMessage struct {
	Conn      ConnInfo
	Direction MessageDirection
	Time      time.Time
	Data      []byte
	CallID    []byte
	// NewCall: this is the first message with this Call-ID on this
	// connection (within the transport's Call-ID memory,
	// Options.CallIDMemory). CallSeq is then its ordinal among the
	// connection's Call-IDs, from 1.
	NewCall bool
	CallSeq int
	// Local: sipwire generated the message itself (a 400, 513 or 505 to a
	// message that could not be framed; the forwarder's own responses are
	// written through WriteMessage like any other).
	Local bool
}

// connCalls is what a connection remembers of the Call-IDs it carried: how
// many, and the last few, for its CLOSED observation. It exists once the
// connection carried a Call-ID while observed.
type connCalls struct {
	n    int
	ids  []string // ring of at most Options.CallIDsPerConn
	next int      // where the next one goes once ids is full
}

// observeMessage hands a message read or written to the observers, with its
// trace verdict and whether its Call-ID is new on the connection. The
// caller orders a connection's messages: its reader for received ones, the
// writer's lock for sent ones.
func (c *Conn) observeMessage(dir MessageDirection, at time.Time, data, callID []byte, local bool) {
	t := c.t
	traced := c.tracedNow()
	if !t.obs.wants(traced) {
		return
	}
	o := t.takeObservation()
	o.Kind, o.Traced = ObservedMessage, traced
	m := &o.Message
	m.Conn, m.Direction, m.Time, m.Data, m.CallID, m.Local = c.info(), dir, at.Truncate(time.Microsecond), data, callID, local
	if len(callID) > 0 && t.callIDs.Add(c.id, callID) {
		m.NewCall = true
		m.CallSeq = c.rememberCall(callID)
	}
	t.obs.emit(o)
	t.putObservation(o)
}

// takeObservation takes a zeroed Observation from the transport's pool:
// one escapes to the heap at every emit otherwise (observers are
// interfaces), twelve times a relayed call. Observers copy what they keep
// (Observer), so it goes back to the pool once emitted.
func (t *Transport) takeObservation() *Observation {
	return t.observations.Get().(*Observation)
}

// putObservation clears o (it must not keep the message's bytes alive) and
// gives it back to the pool.
func (t *Transport) putObservation(o *Observation) {
	*o = Observation{}
	t.observations.Put(o)
}

// rememberCall records a Call-ID new on the connection and returns its
// ordinal.
func (c *Conn) rememberCall(callID []byte) int {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	if c.calls == nil {
		c.calls = new(connCalls)
	}
	cc := c.calls
	cc.n++
	limit := c.t.opts.callIDsPerConn()
	if len(cc.ids) < limit {
		cc.ids = append(cc.ids, string(callID))
	} else {
		cc.ids[cc.next] = string(callID)
		cc.next = (cc.next + 1) % limit
	}
	return cc.n
}

// recentCalls returns the connection's last Call-IDs, oldest first.
func (c *Conn) recentCalls() []string {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	if c.calls == nil {
		return nil
	}
	cc := c.calls
	out := make([]string, 0, len(cc.ids))
	out = append(out, cc.ids[cc.next:]...)
	return append(out, cc.ids[:cc.next]...)
}
