package client

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sipwire/sipwire/web"
)

// EnvAPI is the environment variable with the API's base URL, the default of -api.
const EnvAPI = "SIPWIRE_API"

// Exit statuses of RunCLI.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Commands are the subcommands RunCLI runs.
var Commands = []string{"trace", "conns", "events"}

// RunCLI runs one client subcommand, args[0] being its name ("trace",
// "conns" or "events") and the rest its flags and arguments, until it is
// done or the process gets SIGINT or SIGTERM. It returns the exit status.
//
//	sipwire trace [-api URL] [on|off]
//	sipwire conns [-api URL] [-json]
//	sipwire events [-api URL] [-f] [-n N] [-kind K,...] [-addr IP[:PORT]] [-json]
//
// The token is read from SIPWIRE_WEB_TOKEN; -api defaults to SIPWIRE_API or
// http://127.0.0.1:8080.
func RunCLI(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return RunCLIContext(ctx, args, stdout, stderr)
}

// RunCLIContext is RunCLI under ctx instead of the signals.
func RunCLIContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: sipwire {%s} [flags]\n", strings.Join(Commands, "|"))
		return ExitUsage
	}
	name := args[0]
	fs := flag.NewFlagSet("sipwire "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", envOr(EnvAPI, DefaultBaseURL), "base URL of the sipwire API")
	asJSON := fs.Bool("json", false, "print JSON")
	var follow *bool
	var n *int
	var kinds, addr *string
	switch name {
	case "trace":
		fs.Usage = func() { fmt.Fprintln(stderr, "usage: sipwire trace [-api URL] [on|off]"); fs.PrintDefaults() }
	case "conns":
		fs.Usage = func() { fmt.Fprintln(stderr, "usage: sipwire conns [-api URL] [-json]"); fs.PrintDefaults() }
	case "events":
		follow = fs.Bool("f", false, "follow: print new events as they happen")
		n = fs.Int("n", 20, "print the last N events first (0: none when following)")
		kinds = fs.String("kind", "", "only these kinds, comma-separated (ACCEPTED,CLOSED,...)")
		addr = fs.String("addr", "", "only events of this address (IP or IP:PORT)")
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: sipwire events [-api URL] [-f] [-n N] [-kind K,...] [-addr IP[:PORT]] [-json]")
			fs.PrintDefaults()
		}
	default:
		fmt.Fprintf(stderr, "sipwire: unknown command %q (commands: %s)\n", name, strings.Join(Commands, ", "))
		return ExitUsage
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	c := New(*api, os.Getenv(web.EnvToken))
	switch name {
	case "trace":
		err = runTrace(ctx, c, positional, stdout, *asJSON)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "sipwire trace: %s\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
			fs.Usage()
			return ExitUsage
		}
	case "conns":
		if len(positional) > 0 {
			fmt.Fprintf(stderr, "sipwire conns: unexpected argument %q\n", positional[0])
			fs.Usage()
			return ExitUsage
		}
		err = runConns(ctx, c, stdout, *asJSON)
	case "events":
		if len(positional) > 0 || *n < 0 || *n > web.MaxEventsLimit {
			if len(positional) > 0 {
				fmt.Fprintf(stderr, "sipwire events: unexpected argument %q\n", positional[0])
			} else {
				fmt.Fprintf(stderr, "sipwire events: -n %d is not from 0 to %d\n", *n, web.MaxEventsLimit)
			}
			fs.Usage()
			return ExitUsage
		}
		f := EventFilter{Addr: *addr, Limit: *n}
		if *kinds != "" {
			f.Kinds = strings.Split(strings.ToUpper(*kinds), ",")
		}
		err = runEvents(ctx, c, f, *follow, stdout, stderr, *asJSON)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sipwire %s: %v\n", name, err)
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == 401 {
			fmt.Fprintf(stderr, "(set %s to the API token)\n", web.EnvToken)
		}
		return ExitError
	}
	return ExitOK
}

var errUsage = errors.New("usage")

// parseInterspersed parses flags wherever they stand among the arguments,
// so that "sipwire trace on -api URL" works as well as
// "sipwire trace -api URL on"; it returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runTrace(ctx context.Context, c *Client, args []string, w io.Writer, asJSON bool) error {
	mode := ""
	switch {
	case len(args) > 1:
		return fmt.Errorf("%w: one state at most, got %q", errUsage, args)
	case len(args) == 1:
		mode = strings.ToLower(args[0])
		if mode != "on" && mode != "off" {
			return fmt.Errorf("%w: %q is not a trace state (on or off)", errUsage, args[0])
		}
	}
	state, err := c.Trace(ctx, mode)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]string{"trace": state})
	}
	_, err = fmt.Fprintf(w, "TCP tracing: %s\n", state)
	return err
}

func runConns(ctx context.Context, c *Client, w io.Writer, asJSON bool) error {
	conns, err := c.Conns(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(conns)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tSTATE\tLOCAL\tREMOTE\tAGE\tMSGS IN/OUT\tBYTES IN/OUT\tQUEUED\tTRACED")
	for _, s := range conns {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%d\t%s\n", s.ID, s.Direction, s.State, s.Local, s.Remote,
			time.Since(s.Opened).Truncate(time.Second), s.MsgsIn, s.MsgsOut, s.BytesIn, s.BytesOut, s.QueuedWrites, s.Traced)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%d connection(s)\n", len(conns))
	return err
}

// ReconnectDelay is how long events -f waits before it reconnects a stream
// that ended (sipwire restarted or the network failed), and between
// attempts while sipwire does not answer.
const ReconnectDelay = time.Second

func runEvents(ctx context.Context, c *Client, f EventFilter, follow bool, w, errw io.Writer, asJSON bool) error {
	var last uint64 // the last event printed
	print := func(e web.Event) error {
		last = e.Seq
		if asJSON {
			return json.NewEncoder(w).Encode(e)
		}
		_, err := fmt.Fprintln(w, FormatEvent(&e))
		return err
	}
	run := ""
	if follow {
		run, _ = c.RunID(ctx)
	}
	var next uint64
	if !follow || f.Limit > 0 {
		events, ns, err := c.Events(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := print(e); err != nil {
				return err
			}
		}
		next = ns
	}
	if !follow {
		return nil
	}
	f.Since, f.FromSince = next, f.Limit > 0
	for {
		err := c.FollowEvents(ctx, f, print)
		if ctx.Err() != nil {
			return nil
		}
		var ae *APIError
		if retry := errors.Is(err, ErrStreamEnded) || errors.Is(err, ErrRequest) || (errors.As(err, &ae) && ae.Status >= 500); !retry {
			return err
		}
		fmt.Fprintf(errw, "sipwire events: %v; reconnecting\n", err)
		// Follow the same run from the last event printed; a new run
		// (sipwire restarted: its events are numbered from 1 again) from
		// its start.
		id, err := c.waitRunID(ctx)
		if err != nil {
			return nil // ctx done
		}
		f.FromSince = true
		if id != run {
			fmt.Fprintf(errw, "sipwire events: sipwire restarted (run %s): its events from the first\n", id)
			f.Since, run = 0, id
		} else {
			f.Since = max(f.Since, last)
		}
	}
}

// waitRunID asks for the server's run id every ReconnectDelay until it
// answers or ctx is done.
func (c *Client) waitRunID(ctx context.Context) (string, error) {
	for {
		t := time.NewTimer(ReconnectDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		if id, err := c.RunID(ctx); err == nil {
			return id, nil
		}
	}
}
