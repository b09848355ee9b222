package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/history"
)

// silentCollector accepts TCP connections and never reads or answers, as
// an OTLP collector that hangs does; it holds them until the test ends.
func silentCollector(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// SIGTERM with an OTLP collector that accepts and never answers: the
// exporter's share of the stop budget runs out, not the whole budget, so
// sipwire exits 0 within 3 s and the history holds every connection's
// CLOSED, that of the connection the stop closed included.
func TestBinarySIGTERMWithASilentOTLPCollector(t *testing.T) {
	const exitWithin = 3 * time.Second
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			endpoint := silentCollector(t)
			if protocol != "grpc" {
				endpoint = "http://" + endpoint
			}
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "sipwire.yaml")
			cfgText := "otel:\n  endpoint: " + endpoint + "\n  protocol: " + protocol + "\n  insecure: true\n  open_span_delay: 0s\n"
			if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
				t.Fatal(err)
			}
			in := startSipwire(t, "-config", cfgPath)
			const closedByClient = 3
			var ours []string // the clients' addresses, as the history records them
			for i := range closedByClient {
				c, r := in.dial(t)
				ours = append(ours, c.LocalAddr().String())
				c.Write([]byte(request("OPTIONS", "silent-"+string(rune('a'+i)))))
				if resp := readMsg(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
					t.Fatalf("%s", resp)
				}
				c.Close()
			}
			open, r := in.dial(t) // closed by the stop
			ours = append(ours, open.LocalAddr().String())
			open.Write([]byte(request("OPTIONS", "silent-open")))
			if resp := readMsg(t, r); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
				t.Fatalf("%s", resp)
			}

			start := time.Now()
			if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- in.cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v, want 0", err)
				}
			case <-time.After(3 * exitWithin): // a safety net; the bound is checked below
				t.Fatalf("no exit %s after SIGTERM", 3*exitWithin)
			}
			took := time.Since(start)
			if took > exitWithin {
				t.Errorf("exit %v after SIGTERM, want within %v", took, exitWithin)
			}
			if !strings.Contains(in.stderr.String(), "opentelemetry: spans not exported within") {
				t.Errorf("no log line about the spans left unexported:\n%s", in.stderr.String())
			}

			st, err := history.Open(context.Background(), history.Config{Path: filepath.Join(in.dir, "sipwire-history.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(context.Background())
			p, err := st.Query(context.Background(), history.Filter{Kinds: []transport.EventKind{transport.EventClosed}})
			if err != nil {
				t.Fatal(err)
			}
			closed := map[string]int{}
			for _, e := range p.Events {
				closed[e.Remote]++
			}
			for _, remote := range ours {
				if closed[remote] != 1 {
					t.Errorf("the history holds %d CLOSED of the connection from %s, want 1: %+v", closed[remote], remote, p.Events)
				}
			}
			t.Logf("%s: exit %v after SIGTERM, %d CLOSED in the history", protocol, took.Round(time.Millisecond), len(p.Events))
		})
	}
}
