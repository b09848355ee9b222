package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func mustParse(t *testing.T, doc, name string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), name)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func wantErr(t *testing.T, err error, want string, sentinel error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want:\n%s", want)
	}
	if err.Error() != want {
		t.Fatalf("error\n got:\n%s\nwant:\n%s", err, want)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error is not %v", sentinel)
	}
}

func TestUnknownKeys(t *testing.T) {
	_, err := Parse([]byte("tcp_port: 5060\ntcp_max_msg_chunk: 8\nbogus: 1\nweb:\n  listen: off\n  tokn: x\nweb.token: y\n"), "t.yaml")
	wantErr(t, err, strings.Join([]string{
		"t.yaml:2: tcp_max_msg_chunk: unknown key (did you mean tcp_max_msg_chunks?)",
		"t.yaml:3: bogus: unknown key",
		"t.yaml:6: web.tokn: unknown key (did you mean web.token?)",
		"t.yaml:7: web.token: unknown key (a section's keys go under the section)",
	}, "\n"), ErrUnknownKey)
}

func TestWrongTypes(t *testing.T) {
	cases := []struct{ doc, err string }{
		{"hep: 5\n", "t.yaml:1: hep: must be a mapping of keys, got 5"},
		{"web: [a]\n", "t.yaml:1: web: must be a mapping of keys, got a list"},
		{"- a\n- b\n", "t.yaml:1: the configuration must be a mapping of keys, got a list"},
		{"history: maybe\n", `t.yaml:1: history: must be a mapping of keys or off, got "maybe"`},
		{"[a]: 1\n", "t.yaml:1: keys must be strings, got a list"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.doc), "t.yaml")
		wantErr(t, err, tc.err, ErrType)
	}
}

func TestSyntaxError(t *testing.T) {
	cases := []struct{ doc, err string }{
		{"tcp_port: 5060\nsocket: [tcp:127.0.0.1\ntrace_on: 1\n", "t.yaml:2: did not find expected ',' or ']'"},
		{"tcp_port: 5060\n\ttrace_on: 1\n", "t.yaml:2: found a tab character that violates indentation"},
		{"x: 1\na: b: c\n", "t.yaml:2: mapping values are not allowed in this context"},
		{"- a\nb: c\n", "t.yaml:2: did not find expected '-' indicator"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(tc.doc), "t.yaml")
		wantErr(t, err, tc.err, ErrSyntax)
	}
}

func TestDuplicateKeys(t *testing.T) {
	_, err := Parse([]byte("tcp_port: 5060\nweb:\n  listen: off\ntcp_port: 5070\nweb:\n  token: x\n"), "t.yaml")
	wantErr(t, err, "t.yaml:4: tcp_port: given twice (first at line 1)\nt.yaml:5: web: given twice (first at line 2)", ErrValue)
}

// All problems of a file come back at once, ordered by line.
func TestAllErrorsCollected(t *testing.T) {
	doc := `log:
  level: loud
tcp_port: 0
tcp_async_max_postponed_chunks: 1
trace_destination: nowhere
hep_id:
  - "[a] 127.0.0.1"
  - "[a] 127.0.0.2"
unknown_thing: 3
`
	_, err := Parse([]byte(doc), "sipwire.yaml")
	wantErr(t, err, strings.Join([]string{
		`sipwire.yaml:2: log.level: must be debug, info, warn or error, got "loud"`,
		`sipwire.yaml:3: tcp_port: must be between 1 and 65535, got 0`,
		`sipwire.yaml:4: tcp_async_max_postponed_chunks: must be between 2 and 1000000, got 1`,
		`sipwire.yaml:5: trace_destination: no hep_id is named "nowhere" (hep_id names: a, a)`,
		`sipwire.yaml:8: hep_id: name "a" is used twice (first at line 7)`,
		`sipwire.yaml:9: unknown_thing: unknown key`,
	}, "\n"), ErrValue)
	if !errors.Is(err, ErrUnknownKey) {
		t.Error("the joined error does not hold the unknown key")
	}
	var errs interface{ Unwrap() []error }
	if !errors.As(err, &errs) || len(errs.Unwrap()) != 6 {
		t.Errorf("want 6 joined errors")
	}
}

// Replacing hep_id without naming trace_destination points at hep_id.
func TestDefaultTraceDestinationGone(t *testing.T) {
	_, err := Parse([]byte("hep_id:\n  - \"[collector] 10.0.0.9:9060\"\n"), "t.yaml")
	wantErr(t, err, `t.yaml:1: trace_destination: its default "homer" names no hep_id (hep_id names: collector); set trace_destination`, ErrValue)
	c := mustParse(t, "hep_id:\n  - \"[collector] 10.0.0.9:9060\"\ntrace_destination: collector\n", "t.yaml")
	if c.TraceDestination != "collector" || c.Line("hep_id[0]") != 2 {
		t.Errorf("got %q, line %d", c.TraceDestination, c.Line("hep_id[0]"))
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "---\n"} {
		c := mustParse(t, doc, "t.yaml")
		if !equalConfig(c, Default()) {
			t.Errorf("%q: not the default", doc)
		}
	}
	c := mustParse(t, "web:\nhep:\n", "t.yaml")
	if !equalConfig(c, Default()) {
		t.Error("empty sections must keep the defaults")
	}
}

func TestHistorySwitch(t *testing.T) {
	c := mustParse(t, "history: off\n", "t.yaml")
	if c.History.Enabled || c.History.Path != Default().History.Path {
		t.Errorf("history = %+v", c.History)
	}
	if !mustParse(t, "history: on\n", "t.yaml").History.Enabled {
		t.Error("history: on")
	}
	c = mustParse(t, "history:\n  enabled: false\n  retention: 48h\n", "t.yaml")
	if c.History.Enabled || c.History.Retention != 48*time.Hour {
		t.Errorf("history = %+v", c.History)
	}
}

func TestFormatChoice(t *testing.T) {
	cfg := "socket=tcp:127.0.0.1:5070\nmodparam(\"proto_tcp\", \"tcp_port\", 5070)\n"
	yml := "socket: [tcp:127.0.0.1:5070]\n"
	for _, tc := range []struct {
		name, doc string
		opensips  bool
	}{
		{"opensips.cfg", cfg, true},
		{"opensips.conf", cfg, true},
		{"sipwire.yaml", yml, false},
		{"sipwire.yml", yml, false},
		{"sipwire", yml, false},
		{"-", cfg, true},
	} {
		c, err := Parse([]byte(tc.doc), tc.name)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// OpenSIPS' semantics: trace_on is 0 unless the file sets it.
		if got := !c.TraceOn; got != tc.opensips {
			t.Errorf("%s: read as OpenSIPS = %v", tc.name, got)
		}
	}
	// A .yaml name is YAML whatever it holds.
	if _, err := Parse([]byte(cfg), "x.yaml"); err == nil {
		t.Error("OpenSIPS lines in a .yaml file must fail as YAML")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sipwire.yaml")
	if err := os.WriteFile(p, []byte("tcp_port: 5090\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || c.TCPPort != 5090 || c.Source() != p {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Validate reports a value changed in code at the line it was read from.
func TestValidateAfterChange(t *testing.T) {
	c := mustParse(t, "log:\n  level: info\ntcp_port: 5080\n", "t.yaml")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.TCPPort = 0
	c.Socket = append(c.Socket, "udp:127.0.0.1")
	wantErr(t, c.Validate(), strings.Join([]string{
		`t.yaml: socket: "udp:127.0.0.1": only tcp sockets are served (sipwire is a SIP-over-TCP transport)`,
		`t.yaml:3: tcp_port: must be between 1 and 65535, got 0`,
	}, "\n"), ErrValue)
	var zero Config
	if err := zero.Validate(); err == nil || !strings.Contains(err.Error(), ": socket: at least one") {
		t.Errorf("zero Config: %v", err)
	}
}

func TestKeyError(t *testing.T) {
	c := mustParse(t, "hep_id:\n  - \"[homer] 127.0.0.1:9060; transport=sctp\"\n", "t.yaml")
	err := c.KeyError("hep_id[0]", errors.New("transport must be udp, tcp or tls"))
	wantErr(t, err, "t.yaml:2: hep_id[0]: transport must be udp, tcp or tls", ErrValue)
}

func TestRouteSourceYAML(t *testing.T) {
	doc := `trace_filter_route: f
route:
  f: |
    if ($si == "127.0.0.1")
        exit;
    drop;
  g: "drop;"
`
	c := mustParse(t, doc, "t.yaml")
	body, line := c.RouteSource("f")
	if body != "if ($si == \"127.0.0.1\")\n    exit;\ndrop;\n" || line != 4 {
		t.Errorf("f = %q at %d", body, line)
	}
	if body, line := c.RouteSource("g"); body != "drop;" || line != 7 {
		t.Errorf("g = %q at %d", body, line)
	}
	if body, line := c.RouteSource("none"); body != "" || line != 0 {
		t.Errorf("none = %q at %d", body, line)
	}
	// Every body line is the file line RouteSource says.
	lines := strings.Split(doc, "\n")
	body, line = c.RouteSource("f")
	for i, bl := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if got := strings.TrimSpace(lines[line-1+i]); got != strings.TrimSpace(bl) {
			t.Errorf("body line %d = %q, file line %d = %q", i+1, bl, line+i, got)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{"SIPWIRE_WEB_TOKEN": "tok", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
	c := Default()
	c.ApplyEnv(func(k string) string { return env[k] })
	if c.Web.Token != "tok" || c.OTel.Endpoint != "http://collector:4318" {
		t.Errorf("%+v %+v", c.Web, c.OTel)
	}
	c = mustParse(t, "otel:\n  endpoint: localhost:4317\n", "t.yaml")
	c.ApplyEnv(func(k string) string { return env[k] })
	if c.OTel.Endpoint != "localhost:4317" {
		t.Errorf("the file's endpoint must win: %q", c.OTel.Endpoint)
	}
}

func TestTransportOptions(t *testing.T) {
	c := mustParse(t, `tcp_port: 5070
tcp_send_timeout: 250
tcp_max_msg_chunks: 0
tcp_crlf_pingpong: 0
tcp_crlf_drop: 0
tcp_async: 0
tcp_async_max_postponed_chunks: 8
tcp_async_local_connect_timeout: 50
tcp_async_local_write_timeout: 5
tcp_parallel_handling: 1
tcp_max_connections: 10
tcp_connection_lifetime: 30
tcp_max_msg_time: 2
tcp_max_msg_size: 4096
tcp_keepalive: 0
tcp_keepcount: 3
tcp_keepidle: 60
tcp_keepinterval: 5
trace_on: 0
`, "t.yaml")
	want := transport.Options{
		Port: 5070, SendTimeout: 250 * time.Millisecond, MaxMsgChunks: -1, MaxMsgTime: 2 * time.Second,
		DisableCRLFPingPong: true, SyncWrites: true, MaxPostponedChunks: 8,
		LocalConnectTimeout: 50 * time.Millisecond, LocalWriteTimeout: 5 * time.Millisecond,
		ParallelHandling: true, MaxConnections: 10, ConnectionLifetime: 30 * time.Second, MaxMessageBytes: 4096,
		TCPInfoInterval: 5 * time.Second, TCPInfoPerTick: transport.DefaultTCPInfoPerTick,
		DisableKeepAlive: true, KeepAliveCount: 3, KeepAliveIdle: 60 * time.Second, KeepAliveInterval: 5 * time.Second,
	}
	got := c.TransportOptions()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	d := Default().TransportOptions()
	if d.MaxMsgChunks != transport.DefaultMaxMsgChunks || !d.TraceOn || d.SyncWrites || d.DisableCRLFPingPong || d.DisableKeepAlive {
		t.Errorf("default options %+v", d)
	}
}

func TestSlogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		if got := (Log{Level: l}).SlogLevel().String(); !strings.EqualFold(got, l) && !(l == "warn" && got == "WARN") {
			t.Errorf("%s -> %s", l, got)
		}
	}
}

// equalConfig compares the configuration, not where it was read from.
func equalConfig(a, b *Config) bool {
	x, y := a.Clone(), b.Clone()
	x.src, y.src = nil, nil
	return reflect.DeepEqual(x, y)
}

func printed(t *testing.T, c *Config, redact bool) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Print(&buf, redact); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Print then Parse gives the same configuration.
func TestPrintRoundTrip(t *testing.T) {
	doc := `socket: [tcp:127.0.0.1:5070, "tcp:[::1]"]
tcp_max_msg_chunks: -1
trace_on: 0
trace_destination: ""
trace_filter_route: weird
hep_id: ["[a] 10.0.0.2;transport=tcp;version=3", "[b]  host.example.com:9061; transport=tls"]
hep_capture_id: 4294967295
route:
  weird: "  leading spaces\n\ttab\n\n\n"
  plain: drop;
  "x.y:z": "# only a comment"
  empty: ""
  zz_last: "drop;\n\n"
hep:
  auth_key: "it's: a \"secret\""
  capture_node: ""
forward:
  uri: "sip:127.0.0.1:5070;transport=tcp"
web:
  listen: "off"
  token: "yes"
  allowed_hosts: [a.example.com]
  allowed_origins: ["http://a.example.com:8080"]
otel:
  endpoint: "http://localhost:4318"
  headers: {X-Key: "k: v", Authorization: "Bearer abc"}
history:
  retention: 90m
  max_size: 1000000001
  flush_interval: 1500ms
`
	for _, c := range []*Config{Default(), mustParse(t, doc, "t.yaml")} {
		out := printed(t, c, false)
		back, err := Parse([]byte(out), "printed.yaml")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !equalConfig(c, back) {
			t.Errorf("round trip differs:\n%+v\n%+v\n%s", c, back, out)
		}
		if again := printed(t, back, false); again != out {
			t.Errorf("second print differs")
		}
	}
}

func TestRedaction(t *testing.T) {
	c := mustParse(t, `hep:
  auth_key: hep-secret
web:
  token: web-secret
otel:
  headers: {Authorization: "Bearer otel-secret", X-Empty: ""}
`, "t.yaml")
	out := printed(t, c, true)
	for _, secret := range []string{"hep-secret", "web-secret", "otel-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted print shows %s", secret)
		}
	}
	for _, line := range []string{"  auth_key: <redacted>\n", "  token: <redacted>\n", "    Authorization: <redacted>\n", `    X-Empty: ""` + "\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("redacted print lacks %q", line)
		}
	}
	if plain := printed(t, c, false); !strings.Contains(plain, "web-secret") {
		t.Error("unredacted print must show the secret")
	}

	r := c.Redacted()
	if r.Web.Token != Redaction || r.HEP.AuthKey != Redaction || r.OTel.Headers["Authorization"] != Redaction || r.OTel.Headers["X-Empty"] != "" {
		t.Errorf("Redacted = %+v %+v %+v", r.Web, r.HEP, r.OTel)
	}
	if c.Web.Token != "web-secret" || c.OTel.Headers["Authorization"] != "Bearer otel-secret" {
		t.Error("Redacted changed the original")
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hep-secret", "web-secret", "otel-secret"} {
		if bytes.Contains(js, []byte(secret)) {
			t.Errorf("json shows %s", secret)
		}
	}
}

// The JSON of a Config has the file's keys and units.
func TestJSON(t *testing.T) {
	js, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	hist, _ := m["history"].(map[string]any)
	web, _ := m["web"].(map[string]any)
	if m["tcp_send_timeout"] != 100.0 || m["tcp_async"] != 1.0 || m["trace_destination"] != "homer" ||
		hist["retention"] != "168h" || hist["max_size"] != "1GiB" || web["listen"] != "127.0.0.1:8080" {
		t.Errorf("json = %s", js)
	}
	if allowed, ok := web["allowed_hosts"].([]any); !ok || len(allowed) != 0 {
		t.Errorf("allowed_hosts = %#v", web["allowed_hosts"])
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) != 33 {
		t.Errorf("%d top-level keys: %v", len(keys), keys)
	}
	// A value Config marshals the same as a pointer.
	js2, err := json.Marshal(*Default())
	if err != nil || !bytes.Equal(js, js2) {
		t.Errorf("pointer json differs: %v", err)
	}
}

func TestFormatHelpers(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Hour * 168: "168h", 90 * time.Second: "90s", 1500 * time.Millisecond: "1500ms",
		time.Microsecond: "1us", time.Nanosecond: "1ns", 90 * time.Minute: "90m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %s, want %s", d, got, want)
		}
	}
	for s, want := range map[string]int64{"1GiB": 1 << 30, "512MiB": 512 << 20, "10KB": 10000, "7B": 7, "7": 7, "2TiB": 2 << 40, "3 MiB": 3 << 20} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%s) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "-1MiB", "1.5GiB", "99999999999TiB", "GiB"} {
		if _, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) did not fail", s)
		}
	}
	for n, want := range map[int64]string{0: "0B", 1 << 30: "1GiB", 1000: "1000B", 1536: "3KiB" /* never */} {
		if n == 1536 {
			want = "1536B"
		}
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %s, want %s", n, got, want)
		}
	}
}
