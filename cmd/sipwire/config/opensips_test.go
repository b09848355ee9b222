package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// realisticCfg is testdata/opensips.cfg: an OpenSIPS script with the
// example lines of proto_tcp-module.txt among lines sipwire has no use for.
func realisticCfg(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/opensips.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// lineOf returns the 1-based line of the first line of lines starting with
// prefix.
func lineOf(t *testing.T, lines []string, prefix string) int {
	t.Helper()
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line starts with %q", prefix)
	return 0
}

func TestOpenSIPSImport(t *testing.T) {
	lines := realisticCfg(t)
	c, err := Parse([]byte(strings.Join(lines, "\n")), "opensips.cfg")
	if err != nil {
		t.Fatal(err)
	}
	at := func(prefix string) string { return fmt.Sprintf("opensips.cfg:%d: ", lineOf(t, lines, prefix)) }
	wantWarnings := []string{
		at("log_level") + "log_level=3: not a sipwire setting, skipped",
		at("stderror_enabled") + "stderror_enabled=no: not a sipwire setting, skipped",
		at("udp_workers") + "udp_workers=4: not a sipwire setting, skipped",
		at("socket=udp") + "socket=udp:127.0.0.1:5060: sipwire serves SIP over tcp only, skipped",
		at(`loadmodule "signaling.so"`) + `loadmodule "signaling.so": not a sipwire module, skipped`,
		at(`loadmodule "tm.so"`) + `loadmodule "tm.so": not a sipwire module, skipped`,
		at(`modparam("tm"`) + `modparam("tm", "fr_timeout", 5): not a sipwire module, skipped`,
		at(`loadmodule "proto_udp.so"`) + `loadmodule "proto_udp.so": not a sipwire module, skipped`,
		at("route{") + "route: the main request route is OpenSIPS' SIP logic (sipwire forwards statelessly, see forward.uri), skipped",
		at("route[relay]") + "route[relay]: not reached from trace_filter_route, skipped",
		at("failure_route") + "failure_route[missed_call]: not a sipwire setting, skipped",
	}
	if got := c.Warnings(); !reflect.DeepEqual(got, wantWarnings) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarnings, "\n"))
	}

	d := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"socket", c.Socket, []string{"tcp:127.0.0.1", "tcp:127.0.0.1:5080", "tcp:[::1]:5070"}},
		{"tcp_max_connections", c.TCPMaxConnections, 4096},
		{"tcp_connection_lifetime", c.TCPConnectionLifetime, 300 * time.Second},
		{"tcp_keepalive (any non-zero is 1)", c.TCPKeepAlive, true},
		{"tcp_keepidle", c.TCPKeepIdle, 30 * time.Second},
		{"tcp_keepinterval", c.TCPKeepInterval, 10 * time.Second},
		{"tcp_keepcount (default)", c.TCPKeepCount, d.TCPKeepCount},
		{"tcp_max_msg_chunks", c.TCPMaxMsgChunks, 8},
		{"tcp_async_max_postponed_chunks", c.TCPAsyncMaxPostponedChunks, 16},
		{"tcp_async_local_connect_timeout", c.TCPAsyncLocalConnectTimeout, 200 * time.Millisecond},
		{"tcp_async_local_write_timeout", c.TCPAsyncLocalWriteTimeout, 100 * time.Millisecond},
		{"tcp_parallel_handling", c.TCPParallelHandling, true},
		{"trace_destination", c.TraceDestination, "hep_dest"},
		{"trace_on", c.TraceOn, true},
		{"trace_filter_route", c.TraceFilterRoute, "tcp_filter"},
		{"hep_id", c.HepID, []string{"[hep_dest]10.0.0.2;transport=tcp;version=3"}},
		{"hep_capture_id", c.HepCaptureID, 234},
		{"hep.format (homer for every config)", c.HEP.Format, "homer"},
		{"hep.opensips_payload", c.HEP.OpenSIPSPayload, "json"},
		{"tcp_port (OpenSIPS default)", c.TCPPort, 5060},
		{"tcp_max_msg_time (default)", c.TCPMaxMsgTime, d.TCPMaxMsgTime},
		{"web (sipwire default)", c.Web, d.Web},
		{"history (sipwire default)", c.History, d.History},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.key, ch.got, ch.want)
		}
	}
	if len(c.Route) != 1 {
		t.Errorf("routes %v", c.Route)
	}
	body, line := c.RouteSource("tcp_filter")
	if line != lineOf(t, lines, "route[tcp_filter]") || !strings.Contains(body, "exit;") || !strings.Contains(body, "won't be */") {
		t.Errorf("tcp_filter at %d: %q", line, body)
	}
	// Body line n is file line line+n-1.
	for i, bl := range strings.Split(body, "\n") {
		if i > 0 && !strings.HasPrefix(lines[line-1+i], bl) {
			t.Errorf("body line %d = %q, file line %d = %q", i+1, bl, line+i, lines[line-1+i])
		}
	}
	for key, prefix := range map[string]string{
		"socket[0]": "socket=tcp", "socket[2]": "listen", "hep_id[0]": `modparam("proto_hep", "hep_id"`,
		"trace_on": `modparam("proto_tcp", "trace_on"`, "tcp_max_connections": "tcp_max_connections",
	} {
		if got, want := c.Line(key), lineOf(t, lines, prefix); got != want {
			t.Errorf("Line(%s) = %d, want %d", key, got, want)
		}
	}

	// The imported configuration prints as YAML that reads back the same.
	out := printed(t, c, false)
	back, err := Parse([]byte(out), "sipwire.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !equalConfig(c, back) {
		t.Errorf("printed import reads back differently:\n%s", out)
	}
}

// OpenSIPS' defaults apply to an imported file: trace_on 0, no trace
// destination, OpenSIPS' text payload (for hep.format opensips, which is
// not the default: homer is, as for every config).
func TestOpenSIPSDefaults(t *testing.T) {
	c, err := Parse([]byte(`loadmodule "proto_tcp.so"`+"\n"), "opensips.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if c.TraceOn || c.TraceDestination != "" || c.HepID != nil || c.Route != nil ||
		c.HEP.Format != "homer" || c.HEP.OpenSIPSPayload != "text" {
		t.Errorf("imported defaults %+v", c)
	}
	if !reflect.DeepEqual(c.Socket, []string{"tcp:127.0.0.1"}) {
		t.Errorf("socket %v", c.Socket)
	}
	want := []string{"opensips.cfg: no socket= line: listening on tcp:127.0.0.1 and tcp_port (OpenSIPS would listen on every interface)"}
	if !reflect.DeepEqual(c.Warnings(), want) {
		t.Errorf("warnings %q", c.Warnings())
	}
}

func TestOpenSIPSSemantics(t *testing.T) {
	cfg := `socket=tcp:127.0.0.1:5080 as 192.0.2.1:5060
modparam("proto_tcp", "tcp_async", 5)
modparam("proto_tcp", "tcp_crlf_drop", 0)
modparam("proto_tcp", "tcp_crlf_pingpong", "0")
modparam("proto_tcp", "tcp_async_max_postponed_chunks", 1)
modparam("proto_tcp", "tcp_port", 5070)
modparam("proto_tcp", "tcp_port", 5080)
modparam('proto_hep', 'hep_id', '[v2] 10.0.0.2:9060; version=2')
modparam("proto_hep", "hep_id", "[v3] 10.0.0.3")
modparam("proto_hep", "hep_id", "[tls] collector.example.com; transport=tls")
modparam("proto_hep", "hep_id", "[a#b] 10.0.0.4") # a "#" in a string is no comment
modparam("proto_hep", "homer5_on", 1)
modparam("proto_hep", "homer5_delim", "##")
modparam("proto_hep", "hep_port", 6666)
include_file "more.cfg"
modparam("proto_tcp", "trace_filter_route", "outer")
route[outer] { if ($si == "10.0.0.1") route(inner); exit; }
route[inner] { drop; }
route[unused] { exit; }
`
	c, err := Parse([]byte(cfg), "o.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if !c.TCPAsync || c.TCPCRLFDrop || c.TCPCRLFPingPong || c.TCPAsyncMaxPostponedChunks != 2 || c.TCPPort != 5080 {
		t.Errorf("values %+v", c)
	}
	wantIDs := []string{
		"[v2] 10.0.0.2:9060; version=2; transport=udp",
		"[v3] 10.0.0.3; transport=tcp",
		"[tls] collector.example.com; transport=tls",
		"[a#b] 10.0.0.4; transport=tcp",
	}
	if !reflect.DeepEqual(c.HepID, wantIDs) {
		t.Errorf("hep_id %q", c.HepID)
	}
	if c.HEP.OpenSIPSPayload != "text" {
		t.Errorf("homer5_on=1 is the text payload, got %s", c.HEP.OpenSIPSPayload)
	}
	if len(c.Route) != 2 || c.Route["inner"] != " drop; " {
		t.Errorf("routes %q", c.Route)
	}
	want := []string{
		`o.cfg:1: socket=tcp:127.0.0.1:5080 as 192.0.2.1:5060: "as 192.0.2.1:5060" ignored (sipwire advertises the socket's own address)`,
		`o.cfg:5: modparam("proto_tcp", "tcp_async_max_postponed_chunks", 1): raised to 2, OpenSIPS' minimum`,
		`o.cfg:7: modparam("proto_tcp", "tcp_port", 5080): overrides line 6`,
		`o.cfg:13: modparam("proto_hep", "homer5_delim", "##"): sipwire's text payload always uses ":", skipped`,
		`o.cfg:14: modparam("proto_hep", "hep_port", 6666): sipwire's HEP sender has its own queue and reconnects, skipped`,
		`o.cfg:15: include_file "more.cfg": not followed, skipped (import its lines into this file)`,
		`o.cfg:19: route[unused]: not reached from trace_filter_route, skipped`,
	}
	if !reflect.DeepEqual(c.Warnings(), want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(c.Warnings(), "\n"), strings.Join(want, "\n"))
	}
}

func TestOpenSIPSErrors(t *testing.T) {
	cases := []struct {
		name, cfg, err string
		sentinel       error
	}{
		{"udp only", "socket=udp:127.0.0.1:5060\nlisten=tls:127.0.0.1:5061\n",
			`opensips.cfg:1: socket: "udp:127.0.0.1:5060": sipwire serves SIP over tcp only, and this file has no tcp socket`, ErrUnsupported},
		{"no proto is udp", "listen=127.0.0.1:5060\n",
			`opensips.cfg:1: socket: "127.0.0.1:5060": sipwire serves SIP over tcp only, and this file has no tcp socket`, ErrUnsupported},
		{"host name", "socket=tcp:127.0.0.1\nsocket=tcp:sip.example.com:5060\n",
			`opensips.cfg:2: socket: "tcp:sip.example.com:5060": "sip.example.com" is not an IP address (host and interface names are not resolved)`, ErrValue},
		{"unknown proto_tcp parameter", `modparam("proto_tcp", "tcp_bogus", 1)`,
			`opensips.cfg:1: modparam("proto_tcp", "tcp_bogus", 1): proto_tcp has no parameter "tcp_bogus"`, ErrUnknownKey},
		{"unknown proto_hep parameter", "\n" + `modparam("proto_hep", "hep_bogus", 1)`,
			`opensips.cfg:2: modparam("proto_hep", "hep_bogus", 1): proto_hep has no parameter "hep_bogus"`, ErrUnknownKey},
		{"range", `modparam("proto_tcp", "tcp_port", 0)`,
			`opensips.cfg:1: tcp_port: must be between 1 and 65535, got 0`, ErrValue},
		{"core range", "tcp_max_msg_time=0\n",
			`opensips.cfg:1: tcp_max_msg_time: must be between 1 and 3600, got 0`, ErrValue},
		{"keepalive range", "tcp_keepcount = 200\n",
			`opensips.cfg:1: tcp_keepcount: must be between 0 and 127, got 200`, ErrValue},
		{"keepalive type", "tcp_keepidle = soon\n",
			`opensips.cfg:1: tcp_keepidle: must be an integer, got "soon"`, ErrType},
		{"type", `modparam("proto_tcp", "tcp_send_timeout", "soon")`,
			`opensips.cfg:1: tcp_send_timeout: must be an integer, got "soon"`, ErrType},
		{"homer5_on type", `modparam("proto_hep", "homer5_on", "yes")`,
			`opensips.cfg:1: homer5_on: must be an integer, got "yes"`, ErrType},
		{"unknown trace destination", "\n\n" + `modparam("proto_tcp", "trace_destination", "hep_dst")`,
			`opensips.cfg:3: trace_destination: no hep_id is named "hep_dst" (there is none)`, ErrValue},
		{"unknown filter route", `modparam("proto_tcp", "trace_filter_route", "tcp_filter")` + "\nroute[other] { drop; }\n",
			`opensips.cfg:1: trace_filter_route: no route is named "tcp_filter" (there is none)`, ErrValue},
		{"bad hep_id", `modparam("proto_hep", "hep_id", "10.0.0.2;transport=tcp")`,
			`opensips.cfg:1: hep_id: "10.0.0.2;transport=tcp": must start with "[name]"`, ErrValue},
		{"route twice", "route[a] { drop; }\nroute[a] { exit; }\n",
			`opensips.cfg:2: route: route[a] is defined twice (first at line 1)`, ErrValue},
		{"two arguments", `modparam("proto_tcp", "tcp_port")`,
			`opensips.cfg:1: modparam("proto_tcp", "tcp_port"): a modparam has 3 arguments, got 2`, ErrSyntax},
		{"no parenthesis", "modparam \"proto_tcp\"\n",
			`opensips.cfg:1: modparam "proto_tcp": expected "("`, ErrSyntax},
		{"unterminated string", "socket=tcp:127.0.0.1\n" + `modparam("proto_tcp", "tcp_port`,
			`opensips.cfg:2: string without its closing quote`, ErrSyntax},
		{"unbalanced block", "socket=tcp:127.0.0.1\nroute[a] {\n if (1) {\n drop;\n}\n",
			`opensips.cfg:2: "{" without its matching "}"`, ErrSyntax},
		{"unterminated comment", "socket=tcp:127.0.0.1\n/* open\n",
			`opensips.cfg:2: "/*" comment without its "*/"`, ErrSyntax},
		{"stray text", "socket=tcp:127.0.0.1\n}}\n",
			`opensips.cfg:2: }}: not an OpenSIPS statement`, ErrSyntax},
		{"not UTF-8", "socket=tcp:127.0.0.1\n# \uFFFD is fine\nlog_level=\xba\n",
			`opensips.cfg:3: not valid UTF-8`, ErrSyntax},
		{"route without block", "route[a] drop;\n",
			`opensips.cfg:1: route[a]: expected "{", got "drop;"`, ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.cfg), "opensips.cfg")
			if err == nil {
				t.Fatalf("no error, want %s", tc.err)
			}
			if err.Error() != tc.err {
				t.Fatalf("error\n got %s\nwant %s", err, tc.err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("not %v", tc.sentinel)
			}
		})
	}
}

// Comments and strings do not upset the line count.
func TestOpenSIPSLines(t *testing.T) {
	cfg := "/* a\n * block\n */ socket=tcp:127.0.0.1:5060 /* inline */\n" +
		"// line comment\n" +
		"modparam(\"proto_tcp\",\n  \"tcp_port\",\n  \"0\") # comment\n"
	_, err := Parse([]byte(cfg), "x.cfg")
	if err == nil || err.Error() != "x.cfg:5: tcp_port: must be between 1 and 65535, got 0" {
		t.Fatalf("%v", err)
	}
	c, err := Parse([]byte(strings.Replace(cfg, `"0"`, "5062", 1)), "x.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if c.Line("socket[0]") != 3 || c.TCPPort != 5062 || c.Socket[0] != "tcp:127.0.0.1:5060" {
		t.Errorf("socket at %d, %+v", c.Line("socket[0]"), c.Socket)
	}
}
