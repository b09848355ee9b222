package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipwire/sipwire/transport"
)

// Server is the HTTP server of the API, the event stream and the dashboard.
type Server struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	guard  *guard
	engine *gin.Engine
	http   *http.Server
	ring   *EventRing
	// runID tells this start of the server from any other (the page
	// resynchronises when it changes); timeline samples the counters.
	runID    string
	started  time.Time
	timeline *timeline
	// metrics serves /metrics from registry (metrics.go).
	metrics  http.Handler
	registry *prometheus.Registry

	baseCtx    context.Context
	cancelBase context.CancelFunc
	sseClients atomic.Int64
	// sseRefused counts streams refused over Config.MaxEventStreams,
	// sseTimedOut streams dropped by Config.StreamWriteTimeout, sseWakes
	// the times a stream woke for new events (at most one per streamPause).
	sseRefused  atomic.Uint64
	sseTimedOut atomic.Uint64
	sseWakes    atomic.Uint64

	mu       sync.Mutex
	listener net.Listener
	shutOnce sync.Once
	shutErr  error
}

// New validates cfg, adds the ring as an observer of every event of the
// transport (it fills from now on) and builds the server; Start or Serve
// serves it. Shutdown removes the observer, whether or not the server was
// started.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Transport == nil {
		return nil, ErrNoTransport
	}
	listenHost, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		deps:     deps,
		log:      deps.Logger,
		ring:     NewEventRing(cfg.eventRingSize()),
		runID:    newRunID(),
		started:  time.Now().UTC(),
		timeline: newTimeline(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.guard = newGuard(&cfg, listenHost, s.log)
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.metrics = s.newMetricsHandler()
	s.engine = s.routes()
	s.http = &http.Server{
		Addr:              cfg.listen(),
		Handler:           s.engine,
		ReadTimeout:       cfg.readTimeout(),
		ReadHeaderTimeout: cfg.readHeaderTimeout(),
		WriteTimeout:      cfg.writeTimeout(),
		IdleTimeout:       cfg.idleTimeout(),
		MaxHeaderBytes:    cfg.maxHeaderBytes(),
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ConnContext:       withConn,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for open handlers: end the event streams first.
	s.http.RegisterOnShutdown(s.cancelBase)
	// The ring keeps each event on the goroutine that raised it (a lock
	// and a compact copy): no subscription channel, which a burst of
	// events would go round once and leave resident (4096 events, 688 KiB).
	deps.Transport.AddObserver(s.ring, transport.AllEvents)
	s.timeline.start(s.baseCtx, deps.Transport.Stats)
	return s, nil
}

// newRunID returns 16 random hex digits.
func newRunID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunID tells this start of the server from any other: GET /stats and the
// event stream's hello carry it.
func (s *Server) RunID() string { return s.runID }

// Handler is the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.engine }

// Ring is the in-memory ring of recent events.
func (s *Server) Ring() *EventRing { return s.ring }

// Start binds Config.Listen and serves in the background. ctx bounds the
// bind only.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.cfg.listen())
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrListen, s.cfg.listen(), err)
	}
	go func() {
		if err := s.Serve(l); err != nil {
			s.log.Error("web server stopped", "err", err)
		}
	}()
	return nil
}

// Serve serves on l until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	s.guard.setListenAddr(l.Addr())
	host, _, _ := net.SplitHostPort(l.Addr().String())
	if !isLoopbackHost(host) {
		s.log.Warn("web API listens on a non-loopback address: every state-changing route needs the token", "addr", l.Addr().String())
	} else {
		s.log.Info("web API listening", "url", "http://"+l.Addr().String()+"/")
	}
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("web: serve %s: %w", l.Addr(), err)
}

// Addr is the address served on, or nil before Start or Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// Shutdown ends the event streams, stops accepting, waits for the other
// requests until ctx is done, and releases the transport subscription. It
// runs once; later calls return the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.cancelBase()
		s.shutErr = s.http.Shutdown(ctx)
		if s.shutErr != nil {
			s.shutErr = fmt.Errorf("web: shutdown: %w", s.shutErr)
		}
		s.deps.Transport.RemoveObserver(s.ring)
		<-s.timeline.done
	})
	return s.shutErr
}
