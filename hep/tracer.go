package hep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sipwire/sipwire/transport"
)

// Tracer turns the transport's traced events and SIP messages into HEP
// packets and sends them to its destinations. Its methods are safe for
// concurrent use; Observe never blocks.
type Tracer struct {
	format      Format
	payload     PayloadStyle
	messages    bool
	captureID   uint32
	nodeName    []byte
	authKey     []byte
	senders     []*sender
	scratch     scratchPool
	replays     int // open-event repeats per connection; 0 unless FormatHomer
	closed      atomic.Bool
	closeOnce   sync.Once
	closeErr    error
	eventsIn    atomic.Uint64
	messagesIn  atomic.Uint64
	encodeFails atomic.Uint64
}

// New checks cfg and starts one sender per destination (TCP and TLS ones
// connect at once, in the background).
func New(cfg Config) (*Tracer, error) {
	if len(cfg.Destinations) == 0 {
		return nil, fmt.Errorf("%w: no destination", ErrConfig)
	}
	if cfg.Format > FormatOpenSIPS {
		return nil, fmt.Errorf("%w: unknown format %d", ErrConfig, cfg.Format)
	}
	if cfg.OpenSIPSPayload > PayloadText {
		return nil, fmt.Errorf("%w: unknown payload style %d", ErrConfig, cfg.OpenSIPSPayload)
	}
	for _, d := range cfg.Destinations {
		if d.Version != 3 || d.Host == "" || d.Port <= 0 || d.Port > 65535 || d.Transport > TLS {
			return nil, fmt.Errorf("%w: destination %q: %s", ErrConfig, d.Name, d)
		}
	}
	opts, err := cfg.senderOptions()
	if err != nil {
		return nil, err
	}
	t := &Tracer{
		format:    cfg.Format,
		payload:   cfg.OpenSIPSPayload,
		messages:  !cfg.DisableMessages,
		captureID: cfg.captureID(),
		nodeName:  []byte(cfg.NodeName),
		authKey:   []byte(cfg.AuthKey),
	}
	if cfg.Format == FormatHomer {
		t.replays = orInt(cfg.OpenReplaysPerConn, DefaultOpenReplaysPerConn)
	}
	for _, d := range cfg.Destinations {
		s := newSender(d, opts)
		t.senders = append(t.senders, s)
		s.start()
	}
	return t, nil
}

// Observe implements transport.Observer (add it with
// transport.TracedEvents): it encodes each traced event and message as it
// happens, on the connection's goroutine, so a connection's packets are
// queued in the order of the facts; it never blocks.
func (t *Tracer) Observe(o *transport.Observation) {
	switch o.Kind {
	case transport.ObservedEvent:
		t.observeEvent(&o.Event, o.CallIDs)
	case transport.ObservedMessage:
		t.TapMessage(&o.Message)
	}
}

// Stats returns a snapshot of each destination's counters, in the order of
// Config.Destinations.
func (t *Tracer) Stats() []DestinationStats {
	out := make([]DestinationStats, len(t.senders))
	for i, s := range t.senders {
		out[i] = s.stats()
	}
	return out
}

// Counters are the tracer's own totals.
type Counters struct {
	// Events and Messages count the events and messages observed.
	Events   uint64 `json:"events"`
	Messages uint64 `json:"messages"`
	// EncodeFailures counts events or messages that could not be encoded
	// (a SIP message too large for HEP); each destination also counts them
	// as too_large drops.
	EncodeFailures uint64 `json:"encode_failures"`
}

// Counters returns the tracer's own totals.
func (t *Tracer) Counters() Counters {
	return Counters{Events: t.eventsIn.Load(), Messages: t.messagesIn.Load(), EncodeFailures: t.encodeFails.Load()}
}

// Close stops accepting packets, sends what is queued until ctx is done,
// then closes the sockets. It returns ctx.Err() when the flush was cut
// short. Later calls return the first call's result.
func (t *Tracer) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		errs := make([]error, len(t.senders))
		var wg sync.WaitGroup
		for i, s := range t.senders {
			wg.Go(func() { errs[i] = s.shutdown(ctx) })
		}
		wg.Wait()
		t.closeErr = errors.Join(errs...)
		if t.closeErr != nil {
			t.closeErr = fmt.Errorf("hep: close: %w", t.closeErr)
		}
	})
	return t.closeErr
}

// send hands one encoded packet to every destination, which copies it
// into its queue. conn is the id of the connection the packet is about: a
// destination with several workers sends the packets of one connection
// through one of them, in order.
func (t *Tracer) send(p []byte, conn uint64) {
	for _, s := range t.senders {
		s.enqueue(p, conn)
	}
}

// encodeFailed counts a packet that could not be encoded: one too large for
// HEP's 16-bit lengths, the only encoding error left once knownAddrs has
// given every packet both addresses (a message without a local address,
// sent while its connect was in progress, used to fail here too).
func (t *Tracer) encodeFailed() {
	t.encodeFails.Add(1)
	for _, s := range t.senders {
		s.c.drop(dropTooLarge, 1)
	}
}
