// Command sipwire is a SIP-over-TCP transport and tracing appliance: it
// relays SIP over TCP, and reports every network event as HEP and
// OpenTelemetry spans, with a web dashboard and REST API.
//
// Usage:
//
//	sipwire [-config FILE] [-listen tcp:IP:port] [-web ADDR|off] [-forward URI] [-print-config]
//	sipwire trace [on|off] [-api URL]
//	sipwire conns [-api URL]
//	sipwire events [-f] [-api URL]
//	sipwire healthcheck [-api URL]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
)

// shutdownTimeout bounds a graceful stop: draining connections and
// flushing exporters.
const shutdownTimeout = 10 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usage is what -h prints before the server's flags.
const usage = `usage:
  sipwire [flags]                     run the SIP transport, tracing and dashboard
  sipwire trace [on|off] [-api URL]   show or switch tracing
  sipwire conns [-api URL] [-json]    list the open connections
  sipwire events [-f] [-n N] [-kind K,...] [-addr IP[:PORT]] [-api URL] [-json]
                                      print recent events; -f follows (and reconnects)
  sipwire healthcheck [-api URL]      exit 0 when the API answers /healthz
The subcommands read the API's address from -api or SIPWIRE_API, the token
from SIPWIRE_WEB_TOKEN; "sipwire COMMAND -h" lists a command's flags.

flags:
`

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return runClient(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("sipwire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfgPath     = fs.String("config", "", "config file: sipwire YAML, or an OpenSIPS .cfg (default: the embedded config)")
		webAddr     = fs.String("web", "", "dashboard and REST API address, or off (default: web.listen of the config)")
		forwardURI  = fs.String("forward", "", "upstream to relay SIP to, e.g. 'sip:127.0.0.1:5070;transport=tcp'")
		printConfig = fs.Bool("print-config", false, "print the effective config, commented, and exit")
		logLevel    = fs.String("log-level", "", "debug, info, warn or error (default: log.level of the config)")
		logFormat   = fs.String("log-format", "", "text or json (default: log.format of the config)")
		listen      listFlag
	)
	fs.Var(&listen, "listen", "listener tcp:IP[:port], repeatable; replaces the config's socket list")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "sipwire: %v\n", err)
		return 1
	}
	if err := applyFlags(cfg, listen, *webAddr, *forwardURI, *logLevel, *logFormat); err != nil {
		fmt.Fprintf(stderr, "sipwire: %v\n", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "sipwire: after the command-line flags: %v\n", err)
		return 2
	}
	if *printConfig {
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(stderr, "sipwire: warning: %s\n", w)
		}
		if err := cfg.Print(stdout, true); err != nil {
			fmt.Fprintf(stderr, "sipwire: %v\n", err)
			return 1
		}
		return 0
	}
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if err := serve(cfg, *cfgPath, log); err != nil {
		log.Error("sipwire stopped", "err", err)
		return 1
	}
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	var cfg *config.Config
	if path == "" {
		cfg = config.Default()
	} else {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	cfg.ApplyEnv(os.Getenv)
	return cfg, nil
}

func applyFlags(cfg *config.Config, listen []string, webAddr, forwardURI, level, format string) error {
	if len(listen) > 0 {
		for _, s := range listen {
			if _, err := transport.ParseSocket(s, cfg.TCPPort); err != nil {
				return fmt.Errorf("-listen %s: %w", s, err)
			}
		}
		cfg.Socket = listen
	}
	if webAddr != "" {
		cfg.Web.Listen = webAddr
	}
	if forwardURI != "" {
		if err := config.CheckForwardURI(forwardURI); err != nil {
			return fmt.Errorf("-forward: %w", err)
		}
		cfg.Forward.URI = forwardURI
	}
	if level != "" {
		cfg.Log.Level = level
	}
	if format != "" {
		cfg.Log.Format = format
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs sipwire until SIGTERM or SIGINT; SIGHUP reloads trace_on and
// trace_filter_route from the config file.
func serve(cfg *config.Config, path string, log *slog.Logger) error {
	ctx := context.Background()
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := a.start(ctx, cfg.Web.Listen); err != nil {
		sctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
		defer cancel()
		return errors.Join(err, a.shutdown(sctx))
	}
	log.Info("sipwire running", "tracing", a.tr.Tracing(), "forward", cfg.Forward.URI)
	memCtx, stopMemory := context.WithCancel(ctx)
	defer stopMemory()
	// Connections holding a reader goroutine and its stack: open, not parked.
	mem := newMemoryReturner(func() memorySample {
		st := a.tr.Stats()
		return memorySample{active: st.Open - st.Parked, open: st.Open, opened: st.Accepted + st.Connects}
	}, log)
	if a.history != nil {
		mem.release = a.history.ReleaseMemory
	}
	go mem.run(memCtx)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			reloadConfig(a, path, log)
			continue
		}
		log.Info("shutting down", "signal", sig.String())
		break
	}
	sctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	return a.shutdown(sctx)
}

func reloadConfig(a *app, path string, log *slog.Logger) {
	if path == "" {
		log.Info("SIGHUP: no config file to reload (embedded default)")
		return
	}
	cfg, err := config.Load(path)
	if err != nil {
		log.Error("SIGHUP: config not reloaded", "err", err)
		return
	}
	if err := a.reload(cfg); err != nil {
		log.Error("SIGHUP: config not reloaded", "err", err)
		return
	}
	log.Info("SIGHUP: reloaded trace_on and trace_filter_route", "tracing", cfg.TraceOn, "filter", cfg.TraceFilterRoute)
}
