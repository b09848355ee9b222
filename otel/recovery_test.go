package otel

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// levelCounter is a slog handler that counts records by level.
type levelCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }
func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// collector is an OTLP receiver (gRPC or HTTP) that can be stopped and
// started again on the same address.
type collector struct {
	t        *testing.T
	protocol string
	addr     string
	r        *receiver
	stop     func()
}

func (c *collector) start() {
	c.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	// The port was ours a moment ago; the kernel may take a moment to let
	// it go.
	for range 100 {
		if ln, err = net.Listen("tcp", c.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	if c.protocol == ProtocolGRPC {
		gs := grpc.NewServer()
		coltracepb.RegisterTraceServiceServer(gs, grpcReceiver{r: c.r})
		go func() { _ = gs.Serve(ln) }()
		c.stop = gs.Stop
		return
	}
	srv := &http.Server{Handler: c.r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	c.stop = func() { _ = srv.Close() }
}

func (c *collector) endpoint() string {
	if c.protocol == ProtocolGRPC {
		return c.addr
	}
	return "http://" + c.addr
}

// waitUntil polls cond until it holds or the bound passes.
func waitUntil(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An OTLP collector goes away for a few seconds and comes back: the state
// goes down with one log line and up with one more, and export works again
// within 5 s of the collector's return (it took 30-35 s with the OTLP
// exporters' own retry and gRPC's reconnect backoff).
func TestCollectorDownThenBack(t *testing.T) {
	const (
		safety  = 30 * time.Second // bounds every wait: a hang, not a speed check
		outage  = 6 * time.Second  // long enough for gRPC's default backoff to pass 5 s
		backMax = 5 * time.Second
	)
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			clearOTELEnv(t)
			// Each try of an export gives up after 3 s, so the outage is
			// seen soon (the exporters' own default is 10 s).
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
			col := &collector{t: t, protocol: protocol, addr: "127.0.0.1:0", r: &receiver{}}
			col.start()
			logs := &levelCounter{counts: map[slog.Level]int{}}
			e, err := New(context.Background(), Config{
				Endpoint: col.endpoint(), Protocol: protocol, Insecure: true,
				BatchSize: 16, BatchTimeout: 20 * time.Millisecond, OpenSpanDelay: atOnce,
				Logger: slog.New(logs),
			})
			if err != nil {
				t.Fatal(err)
			}
			stopFeed := make(chan struct{})
			var feed sync.WaitGroup
			halt := sync.OnceFunc(func() {
				close(stopFeed)
				feed.Wait()
			})
			defer halt()
			feed.Go(func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for id := uint64(1); ; id++ {
					select {
					case <-stopFeed:
						return
					case <-tick.C:
					}
					for _, ev := range []transport.Event{
						inbound(transport.EventAccepted, id, 0, "Connection accepted"),
						inbound(transport.EventClosed, id, 1, "EOF received"),
					} {
						e.HandleEvent(&ev)
					}
				}
			})

			waitUntil(t, "a first export", safety, func() bool { return e.Stats().SpansExported > 0 })
			col.stop()
			down := time.Now()
			waitUntil(t, "the state down", safety, func() bool { return !e.Stats().State.Up })
			t.Logf("down %v after the collector stopped", time.Since(down).Round(time.Millisecond))
			if st := e.Stats(); st.State.Outages != 1 || st.State.LastError == "" || logs.count(slog.LevelWarn) != 1 {
				t.Errorf("down: state %+v, %d warnings; want one outage with its error, one warning", st.State, logs.count(slog.LevelWarn))
			}
			time.Sleep(time.Until(down.Add(outage)))

			before := len(col.r.reqs)
			col.start()
			back := time.Now()
			failedAtReturn := e.Stats().SpansFailed
			waitUntil(t, "an export after the collector came back", safety, func() bool {
				col.r.mu.Lock()
				defer col.r.mu.Unlock()
				return len(col.r.reqs) > before
			})
			took := time.Since(back)
			waitUntil(t, "the state up", safety, func() bool { return e.Stats().State.Up })
			if took > backMax {
				t.Errorf("first export %v after the collector came back, want within %v", took, backMax)
			}
			st := e.Stats()
			if w, i := logs.count(slog.LevelWarn), logs.count(slog.LevelInfo); w != 1 || i != 1 || st.State.Outages != 1 {
				t.Errorf("%d warnings, %d infos, state %+v: want one of each for one outage", w, i, st.State)
			}
			t.Logf("%s: first export %v after the collector came back; %d spans failed after its return, %d exported in all",
				protocol, took.Round(time.Millisecond), st.SpansFailed-failedAtReturn, st.SpansExported)

			halt()
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			if err := e.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			col.stop()
			st = e.Stats()
			if st.SpansEnded != st.SpansExported+st.SpansFailed+st.Dropped.ExportQueueFull {
				t.Errorf("ended %d != exported %d + failed %d + dropped %d", st.SpansEnded, st.SpansExported, st.SpansFailed, st.Dropped.ExportQueueFull)
			}
		})
	}
}
