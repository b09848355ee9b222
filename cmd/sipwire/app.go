package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/hep"
	"github.com/sipwire/sipwire/otel"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/transport/route"
	"github.com/sipwire/sipwire/web"
	"github.com/sipwire/sipwire/web/history"
	"github.com/sipwire/sipwire/web/pcap"
)

// The OpenTelemetry exporter's subscription queue and the pcap ring's
// bound. A channel's buffer is allocated whole (an Event is about 180
// bytes: 8192 of them are 1.4 MiB) and stays resident once a burst has
// gone round it, so it is no longer than a burst needs; HEP and the
// history take events as observers, into their own bounded queues, which
// grow only with use.
const (
	otelEventQueue = 8192
	pcapRingBytes  = 8 << 20
)

// app is one running sipwire: the transport and every consumer of its
// events, wired as ARCHITECTURE.md draws them.
type app struct {
	cfg *config.Config
	log *slog.Logger

	tr      *transport.Transport
	handler *handler
	hep     *hep.Tracer
	otel    *otel.Exporter
	history *history.Store // nil when history is off
	// historyDown is why the history store could not be opened (sipwire
	// then runs without it).
	historyDown *history.Store
	pcap        *pcap.Ring
	web         *web.Server

	cancel    context.CancelFunc
	consumers sync.WaitGroup
	listeners []netip.AddrPort
}

// newApp builds everything the config asks for; nothing listens yet.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	opts := cfg.TransportOptions()
	filter, err := traceFilter(cfg)
	if err != nil {
		return nil, err
	}
	opts.TraceFilter = filter
	opts.Logger = log.With("component", "transport")
	h, err := newHandler(cfg)
	if err != nil {
		return nil, err
	}
	a.handler = h
	a.tr = transport.New(opts, h)
	if a.hep, err = newHEP(cfg, log); err != nil {
		return nil, err
	}
	otelCfg := otel.Config{
		Endpoint:    cfg.OTel.Endpoint,
		Protocol:    cfg.OTel.Protocol,
		ServiceName: cfg.OTel.ServiceName,
		Insecure:    cfg.OTel.Insecure,
		Headers:     cfg.OTel.Headers,
		// otel's zero means its default; the config's zero means at once.
		OpenSpanDelay: cmp.Or(cfg.OTel.OpenSpanDelay, -1),
		Logger:        log.With("component", "otel"),
	}
	if a.otel, err = otel.New(ctx, otelCfg); err != nil {
		return nil, fmt.Errorf("opentelemetry: %w", err)
	}
	a.history, a.historyDown = openHistory(ctx, cfg, log)
	a.pcap = pcap.NewRing(int(cmp.Or(cfg.Web.PcapRingSize, pcapRingBytes)))
	return a, nil
}

// traceFilter compiles trace_filter_route, reporting errors at their line in
// the config file.
func traceFilter(cfg *config.Config) (func(transport.ConnInfo) bool, error) {
	name := cfg.TraceFilterRoute
	if name == "" {
		return nil, nil
	}
	body, line := cfg.RouteSource(name)
	r, err := route.ParseBody(name, body, line-1) // ParseBody wants the line before the body

	if err != nil {
		return nil, fmt.Errorf("%s: trace_filter_route %q: %w", cfg.Source(), name, err)
	}
	return r.Trace, nil
}

// newHEP builds the HEP tracer for trace_destination, or nil when there is
// none.
func newHEP(cfg *config.Config, log *slog.Logger) (*hep.Tracer, error) {
	if cfg.TraceDestination == "" {
		return nil, nil
	}
	dests, err := hep.ParseDestinations(cfg.HepID)
	if err != nil {
		return nil, fmt.Errorf("hep_id: %w", err)
	}
	dest, ok := hep.FindDestination(dests, cfg.TraceDestination)
	if !ok {
		return nil, cfg.KeyError("trace_destination", fmt.Errorf("no hep_id is named %q", cfg.TraceDestination))
	}
	format, err := hep.ParseFormat(cfg.HEP.Format)
	if err != nil {
		return nil, err
	}
	payload, err := hep.ParsePayloadStyle(cfg.HEP.OpenSIPSPayload)
	if err != nil {
		return nil, err
	}
	t, err := hep.New(hep.Config{
		Destinations:       []hep.Destination{dest},
		Format:             format,
		OpenSIPSPayload:    payload,
		DisableMessages:    !cfg.HEP.TraceMessages,
		CaptureID:          uint32(cfg.HepCaptureID),
		NodeName:           cfg.HEP.CaptureNode,
		AuthKey:            cfg.HEP.AuthKey,
		QueueSize:          cfg.HEP.QueueSize,
		UDPWorkers:         cfg.HEP.UDPWorkers,
		DisableUDPGSO:      !cfg.HEP.UDPGSO,
		OpenReplaysPerConn: cfg.HEP.OpenReplaysPerConn,
		TLSCAFile:          cfg.HEP.TLSCA,
		Logger:             log.With("component", "hep"),
	})
	if err != nil {
		return nil, fmt.Errorf("hep: %w", err)
	}
	return t, nil
}

// openHistory opens the event history. A store that cannot be opened is
// logged and sipwire goes on without history rather than refuse SIP
// traffic; the second result then says why, for /api/v1/stats and the
// events API ("could not open: ..."). The store logs itself a corrupt file
// it moved aside, and its outages.
func openHistory(ctx context.Context, cfg *config.Config, log *slog.Logger) (*history.Store, *history.Store) {
	if !cfg.History.Enabled {
		return nil, nil
	}
	s, err := history.Open(ctx, history.Config{
		Path:            cfg.History.Path,
		Retention:       cfg.History.Retention,
		MaxSize:         cfg.History.MaxSize,
		FlushInterval:   cfg.History.FlushInterval,
		QueueSize:       cfg.History.QueueSize,
		CacheSize:       cfg.History.CacheSize,
		ReaderCacheSize: cfg.History.ReaderCacheSize,
		Logger:          log.With("component", "history"),
	})
	if err != nil {
		log.Error("event history disabled: the store cannot be opened; SIP traffic goes on", "path", cfg.History.Path, "err", err)
		return nil, history.Disabled(err)
	}
	return s, nil
}

// start wires the fan-out and starts listening.
func (a *app) start(ctx context.Context, webListen string) error {
	ctx, a.cancel = context.WithCancel(ctx)
	// The observer spine: every consumer behind transport.Observer, each
	// with its own bounded queue (HEP's senders, the subscriptions' queues,
	// the pcap ring, the history's queue), drops counted.
	if a.hep != nil {
		a.tr.AddObserver(a.hep, transport.TracedEvents)
	}
	if a.otel.Enabled() {
		sub := a.tr.Subscribe("otel", otelEventQueue, transport.TracedEvents)
		a.tr.AddObserver(a.otel, transport.TracedEvents) // the trace switch
		a.consume(func() { a.otel.ConsumeSubscription(ctx, sub) })
	}
	if a.history != nil {
		gate := transport.AllEvents
		if !a.cfg.History.RecordUntraced {
			gate = transport.TracedEvents
		}
		// Events and Call-IDs straight into the history's own queue: no
		// channel to keep resident (see history.Store.Observer).
		a.tr.AddObserver(a.history.Observer(), gate)
	}
	a.tr.AddObserver(a.pcap, transport.TracedEvents)

	if webListen != "off" && webListen != "" {
		if err := a.startWeb(ctx, webListen); err != nil {
			return err
		}
	}
	for _, s := range a.cfg.Socket {
		ap, err := a.tr.Listen(s)
		if err != nil {
			return err
		}
		a.listeners = append(a.listeners, ap)
		a.log.Info("listening", "socket", "tcp:"+ap.String())
	}
	if err := a.handler.attach(a.tr); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	return nil
}

func (a *app) consume(run func()) {
	a.consumers.Add(1)
	go func() {
		defer a.consumers.Done()
		run()
	}()
}

func (a *app) startWeb(ctx context.Context, listen string) error {
	deps := web.Deps{
		Transport: a.tr,
		Stats:     a.stats,
		Config:    a.liveConfig,
		Pcap:      a.pcap,
		Logger:    a.log.With("component", "web"),
	}
	if h := cmp.Or(a.history, a.historyDown); h != nil {
		deps.Events = historyEvents{h}
	}
	srv, err := web.New(web.Config{
		Listen:          listen,
		Token:           a.cfg.Web.Token,
		AllowedHosts:    a.cfg.Web.AllowedHosts,
		AllowedOrigins:  a.cfg.Web.AllowedOrigins,
		EventRingSize:   a.cfg.Web.EventRing,
		MaxEventStreams: a.cfg.Web.MaxEventStreams,
	}, deps)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	a.web = srv
	return nil
}

// liveConfig is the effective configuration for /api/v1/config, secrets
// redacted, with trace_on as the switch is now (PUT /trace, MI, SIGHUP).
func (a *app) liveConfig() any {
	c := a.cfg.Redacted()
	c.TraceOn = a.tr.Tracing()
	return c
}

// stats gathers the exporters' counters for /stats and /metrics.
func (a *app) stats() map[string]any {
	m := map[string]any{"forward": a.handler.stats()}
	if a.hep != nil {
		m["hep"] = map[string]any{"totals": a.hep.Counters(), "destinations": a.hep.Stats()}
	}
	m["otel"] = a.otel.Stats()
	switch {
	case a.history != nil:
		m["history"] = a.history.Stats()
	case a.historyDown != nil:
		m["history"] = a.historyDown.Stats()
	}
	return m
}

// exporterStopShare bounds the time HEP and OpenTelemetry each get to flush
// at a stop, and is kept back from the connections' drain for them: a silent
// collector then costs at most this, never the history's time nor the exit
// status. What an exporter could not send within it is counted in its Stats
// and logged.
const exporterStopShare = 2 * time.Second

// shutdown stops accepting and drains connections, keeping back the
// exporters' share of ctx's budget; then HEP, OpenTelemetry and the history
// flush side by side, each within its own bound: HEP and OpenTelemetry
// exporterStopShare (or a quarter of the budget if less), the history
// whatever remains of ctx. An exporter whose collector does not take its
// last packets within its share is logged, not an error: the stop itself
// went well. Errors are those of the web server, the transport and the
// history.
func (a *app) shutdown(ctx context.Context) error {
	share := exporterStopShare
	drainCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		share = min(share, time.Until(deadline)/4)
		var cancel context.CancelFunc
		drainCtx, cancel = context.WithDeadline(ctx, deadline.Add(-share))
		defer cancel()
	}
	var errs []error
	if a.web != nil {
		if err := a.web.Shutdown(drainCtx); err != nil {
			errs = append(errs, fmt.Errorf("web: %w", err))
		}
	}
	if err := a.tr.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("transport: %w", err))
	}
	// The transport closed the subscriptions after its last event: the
	// consumers drain them and return.
	waitCtx(drainCtx, &a.consumers)

	var wg sync.WaitGroup
	if a.hep != nil {
		wg.Go(func() {
			hctx, cancel := context.WithTimeout(ctx, share)
			defer cancel()
			if err := a.hep.Close(hctx); err != nil {
				var lost uint64
				for _, d := range a.hep.Stats() {
					lost += d.Drops.NotConnected
				}
				a.log.Warn("hep: packets not sent within the exporter's share of the stop budget are dropped",
					"share", share, "not_connected_total", lost, "err", err)
			}
		})
	}
	wg.Go(func() {
		octx, cancel := context.WithTimeout(ctx, share)
		defer cancel()
		if err := a.otel.Shutdown(octx); err != nil {
			// The export cut short counts its spans as failed when it
			// returns: until then they are ended and not yet accounted.
			st := a.otel.Stats()
			a.log.Warn("opentelemetry: spans not exported within the exporter's share of the stop budget are dropped",
				"share", share, "spans_unexported", st.SpansEnded-st.SpansExported-st.SpansFailed-st.Dropped.ExportQueueFull, "err", err)
		}
	})
	var histErr error
	if a.history != nil {
		wg.Go(func() {
			if err := a.history.Close(ctx); err != nil {
				histErr = fmt.Errorf("history: %w", err)
			}
		})
	}
	wg.Wait()
	errs = append(errs, histErr)
	if a.cancel != nil {
		a.cancel()
	}
	return errors.Join(errs...)
}

// reload applies trace_on and trace_filter_route from a re-read config
// (SIGHUP) without touching connections.
func (a *app) reload(cfg *config.Config) error {
	filter, err := traceFilter(cfg)
	if err != nil {
		return err
	}
	a.tr.SetTraceFilter(filter)
	a.tr.SetTracing(cfg.TraceOn)
	return nil
}

func waitCtx(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
}
