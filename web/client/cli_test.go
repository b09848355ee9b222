package client

import (
	"bytes"
	"context"
	"flag"
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
		{[]string{"trace", "maybe"}, ExitUsage, "", "usage: sipwire trace"},
		{[]string{"trace", "on", "off"}, ExitUsage, "", "usage: sipwire trace"},
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
