package config

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

var update = flag.Bool("update", false, "rewrite default.yaml from Print(Default())")

// The embedded file is exactly what Print writes for the default, so that
// -print-config of the default prints the commented file itself.
func TestDefaultPrintsEmbeddedFile(t *testing.T) {
	var buf bytes.Buffer
	if err := Default().Print(&buf, false); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("default.yaml", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if buf.String() != defaultYAML {
		t.Errorf("Print(Default()) differs from default.yaml (go test -run TestDefaultPrintsEmbeddedFile -update rewrites it):\n%s", buf.String())
	}
	var red bytes.Buffer
	if err := Default().Print(&red, true); err != nil {
		t.Fatal(err)
	}
	if red.String() != defaultYAML {
		t.Errorf("the default has no secret, so redacting must not change it")
	}
}

func TestDefaultNamesEveryKey(t *testing.T) {
	c := Default()
	for _, f := range c.fields() {
		if c.Line(f.key) == 0 {
			t.Errorf("default.yaml lacks %s", f.key)
		}
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("warnings: %v", c.Warnings())
	}
}

// The proto_tcp and core defaults are transport's constants (one source of
// truth: this test fails when they drift apart).
func TestDefaultMatchesTransport(t *testing.T) {
	c := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"tcp_port", c.TCPPort, transport.DefaultPort},
		{"tcp_send_timeout", c.TCPSendTimeout, transport.DefaultSendTimeout},
		{"tcp_max_msg_chunks", c.TCPMaxMsgChunks, transport.DefaultMaxMsgChunks},
		{"tcp_max_msg_time", c.TCPMaxMsgTime, transport.DefaultMaxMsgTime},
		{"tcp_async_max_postponed_chunks", c.TCPAsyncMaxPostponedChunks, transport.DefaultMaxPostponedChunks},
		{"tcp_async_local_connect_timeout", c.TCPAsyncLocalConnectTimeout, transport.DefaultLocalConnectTimeout},
		{"tcp_async_local_write_timeout", c.TCPAsyncLocalWriteTimeout, transport.DefaultLocalWriteTimeout},
		{"tcp_max_connections", c.TCPMaxConnections, transport.DefaultMaxConnections},
		{"tcp_connection_lifetime", c.TCPConnectionLifetime, transport.DefaultConnectionLifetime},
		{"tcp_max_msg_size", c.TCPMaxMsgSize, transport.DefaultMaxMessageBytes},
		{"tcp_info_per_tick", c.TCPInfoPerTick, transport.DefaultTCPInfoPerTick},
		{"tcp_info_interval", c.TCPInfoInterval, 5 * time.Second},
		{"tcp_crlf_pingpong", c.TCPCRLFPingPong, true},
		{"tcp_crlf_drop", c.TCPCRLFDrop, false},
		{"tcp_async", c.TCPAsync, true},
		{"tcp_parallel_handling", c.TCPParallelHandling, false},
		// OpenSIPS: keepalive on, the system's idle, interval and count.
		{"tcp_keepalive", c.TCPKeepAlive, !(transport.Options{}).DisableKeepAlive},
		{"tcp_keepcount", c.TCPKeepCount, (transport.Options{}).KeepAliveCount},
		{"tcp_keepidle", c.TCPKeepIdle, (transport.Options{}).KeepAliveIdle},
		{"tcp_keepinterval", c.TCPKeepInterval, (transport.Options{}).KeepAliveInterval},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: default %v, transport says %v", ch.key, ch.got, ch.want)
		}
	}
	// What the issue asks of the default.
	if len(c.Socket) != 1 || c.Socket[0] != "tcp:127.0.0.1:5060" || c.Web.Listen != "127.0.0.1:8080" ||
		!c.TraceOn || c.TraceDestination != "homer" || !c.History.Enabled || c.OTel.Endpoint != "" ||
		len(c.HepID) != 1 || c.HepID[0] != "[homer] 127.0.0.1:9060; transport=udp; version=3" {
		t.Errorf("default = %+v", c)
	}
	if c.History.Retention != 168*time.Hour || c.History.MaxSize != 1<<30 {
		t.Errorf("history = %+v", c.History)
	}
}

// Each Default is a copy of its own.
func TestDefaultIsACopy(t *testing.T) {
	a := Default()
	a.Socket[0] = "tcp:10.0.0.1"
	a.Route["tcp_filter"] = "exit;"
	a.src.lines["tcp_port"] = 99
	b := Default()
	if b.Socket[0] != "tcp:127.0.0.1:5060" || b.Route["tcp_filter"] == "exit;" || b.Line("tcp_port") == 99 {
		t.Errorf("a change to one Default shows in the next: %+v", b)
	}
}
