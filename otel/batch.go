package otel

import (
	"context"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// batcher is a span processor that queues ended spans in a bounded channel
// and exports them in batches from one goroutine. OnEnd never blocks: a span
// that finds the queue full is dropped and counted. Unlike the SDK's batch
// processor it counts every span it drops, exports or fails to export.
type batcher struct {
	exp           sdktrace.SpanExporter
	queue         chan sdktrace.ReadOnlySpan
	flushReq      chan chan struct{}
	stop          chan struct{}
	done          chan struct{}
	batchSize     int
	batchTimeout  time.Duration
	exportTimeout time.Duration
	st            *counters
	health        *health

	// base is the parent of every export's context; Shutdown cancels it
	// when its own context expires, to cut short an export in progress.
	base       context.Context
	cancelBase context.CancelFunc

	stopOnce sync.Once
	stopErr  error
	// stopMu makes OnEnd and the stop of the queue exclusive, so that no
	// span enters the queue after the worker's last drain.
	stopMu  sync.RWMutex
	stopped bool
}

var _ sdktrace.SpanProcessor = (*batcher)(nil)

func newBatcher(exp sdktrace.SpanExporter, s settings, st *counters, h *health) *batcher {
	b := &batcher{
		exp:           exp,
		queue:         make(chan sdktrace.ReadOnlySpan, s.queueSize),
		flushReq:      make(chan chan struct{}),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
		batchSize:     s.batchSize,
		batchTimeout:  s.batchTimeout,
		exportTimeout: s.exportTimeout,
		st:            st,
		health:        h,
	}
	b.base, b.cancelBase = context.WithCancel(context.Background())
	go b.run()
	return b
}

// OnStart does nothing.
func (*batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s for export, or drops and counts it.
func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	b.stopMu.RLock()
	defer b.stopMu.RUnlock()
	if b.stopped {
		b.st.exportQueueFull.Add(1)
		return
	}
	select {
	case b.queue <- s:
	default:
		b.st.exportQueueFull.Add(1)
	}
}

// queueLen is the number of spans waiting in the queue.
func (b *batcher) queueLen() int { return len(b.queue) }

func (b *batcher) run() {
	defer close(b.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, b.batchSize)
	timer := time.NewTimer(b.batchTimeout)
	defer timer.Stop()
	for {
		select {
		case s := <-b.queue:
			batch = append(batch, s)
			if len(batch) >= b.batchSize {
				batch = b.export(batch)
				timer.Reset(b.batchTimeout)
			}
		case <-timer.C:
			batch = b.export(batch)
			timer.Reset(b.batchTimeout)
		case req := <-b.flushReq:
			batch = b.drain(batch)
			close(req)
			timer.Reset(b.batchTimeout)
		case <-b.stop:
			b.drain(batch)
			return
		}
	}
}

// drain exports batch and everything queued now.
func (b *batcher) drain(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for {
		select {
		case s := <-b.queue:
			batch = append(batch, s)
			if len(batch) >= b.batchSize {
				batch = b.export(batch)
			}
		default:
			return b.export(batch)
		}
	}
}

// shutdownCountWait bounds how long Shutdown, past its context, waits for
// the cancelled export to be counted.
const shutdownCountWait = 500 * time.Millisecond

// export sends batch and counts the outcome; it returns batch emptied.
func (b *batcher) export(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(b.base, b.exportTimeout)
	err := b.exp.ExportSpans(ctx, batch)
	cancel()
	n := uint64(len(batch))
	if err != nil {
		// The state changes before the count, so that an outage's lost
		// spans include the batch that began it.
		b.health.failed(err)
		b.st.exportErrors.Add(1)
		b.st.spansFailed.Add(n)
		b.st.setLastError(err)
	} else {
		b.st.spansExported.Add(n)
		b.health.ok()
	}
	clear(batch)
	return batch[:0]
}

// ForceFlush exports every span queued before the call.
func (b *batcher) ForceFlush(ctx context.Context) error {
	req := make(chan struct{})
	select {
	case b.flushReq <- req:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops the queue, exports what it holds and shuts the exporter
// down. When ctx expires first, the export in progress is cancelled (the
// spans it and the queue still held are counted as failed) and Shutdown
// returns ctx's error without waiting further.
func (b *batcher) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() {
		b.stopMu.Lock()
		b.stopped = true
		b.stopMu.Unlock()
		close(b.stop)
		select {
		case <-b.done:
			b.stopErr = b.exp.Shutdown(ctx)
		case <-ctx.Done():
			// Cancel the export in progress: it and the queue's rest fail
			// at once and are counted before Shutdown returns (bounded, in
			// case an exporter ignores its context).
			b.cancelBase()
			b.stopErr = ctx.Err()
			select {
			case <-b.done:
				_ = b.exp.Shutdown(b.base)
			case <-time.After(shutdownCountWait):
				go func() {
					<-b.done
					_ = b.exp.Shutdown(b.base)
				}()
			}
		}
		b.cancelBase()
	})
	return b.stopErr
}
