package client

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/web"
)

func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := RunCLIContext(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunCLITrace(t *testing.T) {
	f := newFixture(t)
	t.Setenv(web.EnvToken, token)
	t.Setenv(EnvAPI, f.base)
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"trace"}, ExitOK, "TCP tracing: off\n", ""},
		{[]string{"trace", "on"}, ExitOK, "TCP tracing: on\n", ""},
		{[]string{"trace", "-json"}, ExitOK, "{\"trace\":\"on\"}\n", ""},
		{[]string{"trace", "-api", f.base, "OFF"}, ExitOK, "TCP tracing: off\n", ""},
		{[]string{"trace", "maybe"}, ExitUsage, "", "sipwire trace: \"maybe\" is not a trace state (on or off)\nusage: sipwire trace"},
		{[]string{"trace", "on", "off"}, ExitUsage, "", "sipwire trace: one state at most, got [\"on\" \"off\"]\nusage: sipwire trace"},
		{[]string{"conns", "all"}, ExitUsage, "", "sipwire conns: unexpected argument \"all\"\nusage: sipwire conns"},
		{[]string{"events", "-n", "5000"}, ExitUsage, "", "sipwire events: -n 5000 is not from 0 to 1000\nusage: sipwire events"},
		{[]string{"trace", "-bogus"}, ExitUsage, "", "flag provided but not defined"},
		{[]string{"trace", "-h"}, ExitOK, "", "usage: sipwire trace"},
		{[]string{"nope"}, ExitUsage, "", `unknown command "nope"`},
		{nil, ExitUsage, "", "usage: sipwire {trace|conns|events}"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := run(t, t.Context(), tt.args...)
			if code != tt.code || out != tt.out || !strings.Contains(errs, tt.err) {
				t.Errorf("= %d %q %q; want %d %q, stderr with %q", code, out, errs, tt.code, tt.out, tt.err)
			}
		})
	}
	t.Setenv(web.EnvToken, "wrong")
	code, _, errs := run(t, t.Context(), "trace", "on")
	if code != ExitError || !strings.Contains(errs, "401") || !strings.Contains(errs, web.EnvToken) || f.tr.Tracing() {
		t.Errorf("wrong token: %d %q", code, errs)
	}
}

func TestRunCLIConns(t *testing.T) {
	f := newFixture(t)
	t.Setenv(web.EnvToken, token)
	sc := f.connect()
	code, out, errs := run(t, t.Context(), "conns", "-api", f.base)
	if code != ExitOK || !strings.HasPrefix(out, "ID  ") || !strings.Contains(out, sc.LocalAddr().String()) || !strings.HasSuffix(out, "1 connection(s)\n") {
		t.Errorf("conns = %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, t.Context(), "conns", "-api", f.base, "-json")
	if code != ExitOK || !strings.Contains(out, `"remote": "`+sc.LocalAddr().String()+`"`) {
		t.Errorf("conns -json = %d %s", code, out)
	}
	if code, _, _ := run(t, t.Context(), "conns", "-api", f.base, "extra"); code != ExitUsage {
		t.Errorf("conns extra = %d", code)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	if code, _, errs := run(t, t.Context(), "conns", "-api", "http://"+dead); code != ExitError || !strings.Contains(errs, "request failed") {
		t.Errorf("conns on a dead API = %d %q", code, errs)
	}
}

func TestRunCLIEvents(t *testing.T) {
	f := newFixture(t)
	t.Setenv(web.EnvToken, token)
	sc := f.connect()
	for range 1000 {
		if f.srv.Ring().LastSeq() > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, out, errs := run(t, t.Context(), "events", "-api", f.base, "-kind", "accepted")
	if code != ExitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, "ACCEPTED") || !strings.Contains(out, sc.LocalAddr().String()) {
		t.Errorf("events = %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, t.Context(), "events", "-api", f.base, "-kind", "CLOSED")
	if code != ExitOK || out != "" {
		t.Errorf("events -kind CLOSED = %d %q", code, out)
	}
	code, _, errs = run(t, t.Context(), "events", "-api", f.base, "-kind", "OPENED")
	if code != ExitError || !strings.Contains(errs, "unknown kind") {
		t.Errorf("events -kind OPENED = %d %q", code, errs)
	}
	if code, _, _ := run(t, t.Context(), "events", "-n", "-1"); code != ExitUsage {
		t.Errorf("events -n -1 = %d", code)
	}

	// -f prints the backlog, then follows until the context ends.
	ctx, cancel := context.WithCancel(t.Context())
	w := newLineWriter()
	done := make(chan int, 1)
	go func() { done <- RunCLIContext(ctx, []string{"events", "-api", f.base, "-f", "-json"}, w, w) }()
	if l := w.next(t); !strings.Contains(l, `"kind":"ACCEPTED"`) {
		t.Fatalf("backlog line %q", l)
	}
	sc.Close()
	if l := w.next(t); !strings.Contains(l, `"kind":"CLOSED"`) || !strings.Contains(l, `"reason":"EOF received"`) {
		t.Fatalf("followed line %q", l)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("events -f after cancel = %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events -f did not stop")
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	api := fs.String("api", "", "")
	pos, err := parseInterspersed(fs, []string{"on", "-api", "http://127.0.0.1:1"})
	if err != nil || len(pos) != 1 || pos[0] != "on" || *api != "http://127.0.0.1:1" {
		t.Fatalf("pos %q api %q err %v", pos, *api, err)
	}
}

// TestRunCLIEventsFollowsARestart: events -f goes on across a restart of
// sipwire's web server: it says it reconnects, sees the new run, and prints
// the new run's events from its first (numbered from 1 again).
func TestRunCLIEventsFollowsARestart(t *testing.T) {
	f := newFixture(t)
	t.Setenv(web.EnvToken, token)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, errw := newLineWriter(), newLineWriter()
	done := make(chan int, 1)
	go func() {
		done <- RunCLIContext(ctx, []string{"events", "-api", f.base, "-f", "-n", "0", "-json"}, out, errw)
	}()
	waitStream(t, f)
	f.connect().Close()
	if l := out.next(t); !strings.Contains(l, `"kind":"ACCEPTED"`) {
		t.Fatalf("first line %q", l)
	}
	if l := out.next(t); !strings.Contains(l, `"kind":"CLOSED"`) {
		t.Fatalf("second line %q", l)
	}

	// The web server restarts on the same address: a new run.
	addr := strings.TrimPrefix(f.base, "http://")
	oldRun := f.srv.RunID()
	f.srv.Shutdown(t.Context())
	if l := errw.next(t); !strings.Contains(l, "reconnecting") {
		t.Fatalf("stderr %q", l)
	}
	srv, err := web.New(web.Config{Listen: addr, Token: token}, web.Deps{Transport: f.tr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	if l := errw.next(t); !strings.Contains(l, "sipwire restarted (run "+srv.RunID()+")") || srv.RunID() == oldRun {
		t.Fatalf("stderr %q (runs %s then %s)", l, oldRun, srv.RunID())
	}
	f.connect()
	if l := out.next(t); !strings.Contains(l, `"seq":1,`) || !strings.Contains(l, `"kind":"ACCEPTED"`) {
		t.Fatalf("after the restart %q, want the new run's first event", l)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("events -f = %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events -f did not stop")
	}
}

// waitStream waits (bounded) until the server has an event stream open.
func waitStream(t *testing.T, f *fixture) {
	t.Helper()
	for range 1000 {
		if streamOpen(t, f) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no event stream open within 10 s")
}
