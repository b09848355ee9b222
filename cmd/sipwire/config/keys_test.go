package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// keyCase sets one key in a file of its own: with err empty the value must
// land in the field, else Parse must fail with exactly err.
type keyCase struct {
	key   string
	value string // YAML after "key: "; continuation lines are indented by the test
	want  any
	err   string // the whole message, "t.yaml:LINE: key: ..."
}

// doc renders a one-key file; a section key goes under its section.
func (kc keyCase) doc() string {
	sec, sub, ok := strings.Cut(kc.key, ".")
	if !ok {
		return kc.key + ": " + kc.value + "\n"
	}
	return sec + ":\n  " + sub + ": " + strings.ReplaceAll(kc.value, "\n", "\n  ") + "\n"
}

// get reads the field of key from c.
func get(c *Config, key string) any {
	m := map[string]any{
		"socket": c.Socket, "tcp_port": c.TCPPort, "tcp_send_timeout": c.TCPSendTimeout,
		"tcp_max_msg_chunks": c.TCPMaxMsgChunks, "tcp_crlf_pingpong": c.TCPCRLFPingPong,
		"tcp_crlf_drop": c.TCPCRLFDrop, "tcp_async": c.TCPAsync,
		"tcp_async_max_postponed_chunks":  c.TCPAsyncMaxPostponedChunks,
		"tcp_async_local_connect_timeout": c.TCPAsyncLocalConnectTimeout,
		"tcp_async_local_write_timeout":   c.TCPAsyncLocalWriteTimeout,
		"tcp_parallel_handling":           c.TCPParallelHandling, "tcp_max_connections": c.TCPMaxConnections,
		"tcp_connection_lifetime": c.TCPConnectionLifetime, "tcp_max_msg_time": c.TCPMaxMsgTime,
		"tcp_keepalive": c.TCPKeepAlive, "tcp_keepcount": c.TCPKeepCount, "tcp_keepidle": c.TCPKeepIdle,
		"tcp_keepinterval": c.TCPKeepInterval,
		"tcp_max_msg_size": c.TCPMaxMsgSize, "tcp_info_interval": c.TCPInfoInterval, "tcp_info_per_tick": c.TCPInfoPerTick,
		"trace_on": c.TraceOn, "trace_destination": c.TraceDestination,
		"trace_filter_route": c.TraceFilterRoute, "hep_id": c.HepID, "hep_capture_id": c.HepCaptureID,
		"route":      c.Route,
		"hep.format": c.HEP.Format, "hep.opensips_payload": c.HEP.OpenSIPSPayload,
		"hep.trace_messages": c.HEP.TraceMessages, "hep.capture_node": c.HEP.CaptureNode,
		"hep.auth_key": c.HEP.AuthKey, "hep.queue_size": c.HEP.QueueSize, "hep.tls_ca": c.HEP.TLSCA,
		"hep.udp_workers": c.HEP.UDPWorkers, "hep.udp_gso": c.HEP.UDPGSO, "hep.open_replays_per_conn": c.HEP.OpenReplaysPerConn,
		"forward.uri": c.Forward.URI, "forward.record_route": c.Forward.RecordRoute,
		"forward.relay_extensions": c.Forward.RelayExtensions,
		"web.listen":               c.Web.Listen, "web.token": c.Web.Token, "web.allowed_hosts": c.Web.AllowedHosts,
		"web.allowed_origins": c.Web.AllowedOrigins, "web.event_ring": c.Web.EventRing, "web.pcap_ring_size": c.Web.PcapRingSize,
		"web.max_event_streams": c.Web.MaxEventStreams,
		"otel.endpoint":         c.OTel.Endpoint, "otel.protocol": c.OTel.Protocol,
		"otel.service_name": c.OTel.ServiceName, "otel.insecure": c.OTel.Insecure,
		"otel.headers": c.OTel.Headers, "otel.open_span_delay": c.OTel.OpenSpanDelay,
		"history.enabled": c.History.Enabled, "history.path": c.History.Path,
		"history.record_untraced": c.History.RecordUntraced, "history.retention": c.History.Retention,
		"history.max_size": c.History.MaxSize, "history.flush_interval": c.History.FlushInterval,
		"history.queue_size": c.History.QueueSize, "history.cache_size": c.History.CacheSize,
		"history.reader_cache_size": c.History.ReaderCacheSize,
		"log.level":                 c.Log.Level, "log.format": c.Log.Format,
	}
	v, ok := m[key]
	if !ok {
		panic("no field for " + key)
	}
	return v
}

var keyCases = []keyCase{
	{key: "socket", value: `[tcp:10.0.0.1:5080, "tcp:[::1]:5070", tcp:127.0.0.2, TCP:127.0.0.3:0]`,
		want: []string{"tcp:10.0.0.1:5080", "tcp:[::1]:5070", "tcp:127.0.0.2", "TCP:127.0.0.3:0"}},
	{key: "socket", value: "tcp:127.0.0.1:5070", want: []string{"tcp:127.0.0.1:5070"}},
	{key: "socket", value: "\n  - tcp:127.0.0.1:5070\n  - udp:127.0.0.1:5060",
		err: `t.yaml:3: socket: "udp:127.0.0.1:5060": only tcp sockets are served (sipwire is a SIP-over-TCP transport)`},
	{key: "socket", value: "[tcp:localhost:5060]",
		err: `t.yaml:1: socket: "tcp:localhost:5060": "localhost" is not an IP address (host and interface names are not resolved)`},
	{key: "socket", value: `["tcp:::1:5060"]`,
		err: `t.yaml:1: socket: "tcp:::1:5060": an IPv6 address needs brackets, as in "tcp:[::1]:5060"`},
	{key: "socket", value: `["tcp:[::1"]`, err: `t.yaml:1: socket: "tcp:[::1": an IPv6 address needs its closing "]"`},
	{key: "socket", value: "[tcp:127.0.0.1:70000]",
		err: `t.yaml:1: socket: "tcp:127.0.0.1:70000": port "70000" must be between 0 and 65535`},
	{key: "socket", value: "[127.0.0.1:5060]", err: `t.yaml:1: socket: "127.0.0.1:5060": must be "tcp:IP[:port]"`},
	{key: "socket", value: "[]", err: `t.yaml:1: socket: at least one tcp socket is needed`},
	{key: "socket", value: "\n  - tcp:127.0.0.1:5060\n  - tcp:127.0.0.1",
		err: `t.yaml:3: socket: "tcp:127.0.0.1" listens where "tcp:127.0.0.1:5060" already does`},
	{key: "socket", value: "{a: b}", err: `t.yaml:1: socket: must be a list of strings, got a mapping`},
	{key: "socket", value: "[[tcp:127.0.0.1]]", err: `t.yaml:1: socket: item 0 must be a string, got a list`},

	{key: "tcp_port", value: "5080", want: 5080},
	{key: "tcp_port", value: "0", err: `t.yaml:1: tcp_port: must be between 1 and 65535, got 0`},
	{key: "tcp_port", value: "abc", err: `t.yaml:1: tcp_port: must be an integer, got "abc"`},
	{key: "tcp_port", value: "1.5", err: `t.yaml:1: tcp_port: must be an integer, got 1.5`},
	{key: "tcp_port", value: "99999999999999999999", err: `t.yaml:1: tcp_port: must be an integer, got 99999999999999999999`},
	{key: "tcp_send_timeout", value: "250", want: 250 * time.Millisecond},
	{key: "tcp_send_timeout", value: "0", err: `t.yaml:1: tcp_send_timeout: must be between 1 and 600000, got 0`},
	{key: "tcp_send_timeout", value: `"1s"`, err: `t.yaml:1: tcp_send_timeout: must be an integer, got "1s"`},
	{key: "tcp_max_msg_chunks", value: "8", want: 8},
	{key: "tcp_max_msg_chunks", value: "0", want: 0},
	{key: "tcp_max_msg_chunks", value: "-1", want: -1},
	{key: "tcp_max_msg_chunks", value: "2000000", err: `t.yaml:1: tcp_max_msg_chunks: must be between -1000000 and 1000000, got 2000000`},
	{key: "tcp_crlf_pingpong", value: "0", want: false},
	{key: "tcp_crlf_pingpong", value: "true", want: true},
	{key: "tcp_crlf_pingpong", value: "2", err: `t.yaml:1: tcp_crlf_pingpong: must be 0 or 1, got 2`},
	{key: "tcp_crlf_pingpong", value: "yes", err: `t.yaml:1: tcp_crlf_pingpong: must be 0 or 1, got "yes"`},
	{key: "tcp_crlf_drop", value: "0", want: false},
	{key: "tcp_crlf_drop", value: "1", err: `t.yaml:1: tcp_crlf_drop: 1 is refused: sipwire already discards a lone CRLF between messages as soon as the next byte shows it is lone, and never swallows half of a CRLFCRLF ping split across reads, as OpenSIPS with 1 may; remove the key or set it to 0`},
	{key: "tcp_crlf_drop", value: "[1]", err: `t.yaml:1: tcp_crlf_drop: must be 0 or 1, got a list`},
	{key: "tcp_async", value: "0", want: false},
	{key: "tcp_async", value: "-1", err: `t.yaml:1: tcp_async: must be 0 or 1, got -1`},
	{key: "tcp_async_max_postponed_chunks", value: "16", want: 16},
	{key: "tcp_async_max_postponed_chunks", value: "1", err: `t.yaml:1: tcp_async_max_postponed_chunks: must be between 2 and 1000000, got 1`},
	{key: "tcp_async_local_connect_timeout", value: "200", want: 200 * time.Millisecond},
	{key: "tcp_async_local_connect_timeout", value: "0", err: `t.yaml:1: tcp_async_local_connect_timeout: must be between 1 and 60000, got 0`},
	{key: "tcp_async_local_write_timeout", value: "100", want: 100 * time.Millisecond},
	{key: "tcp_async_local_write_timeout", value: "60001", err: `t.yaml:1: tcp_async_local_write_timeout: must be between 1 and 60000, got 60001`},
	{key: "tcp_parallel_handling", value: "1", want: true},
	{key: "tcp_parallel_handling", value: "on", err: `t.yaml:1: tcp_parallel_handling: must be 0 or 1, got "on"`},
	{key: "tcp_max_connections", value: "4096", want: 4096},
	{key: "tcp_max_connections", value: "0", err: `t.yaml:1: tcp_max_connections: must be between 1 and 1000000, got 0`},
	{key: "tcp_connection_lifetime", value: "300", want: 300 * time.Second},
	{key: "tcp_connection_lifetime", value: "0", err: `t.yaml:1: tcp_connection_lifetime: must be between 1 and 31536000, got 0`},
	{key: "tcp_max_msg_time", value: "10", want: 10 * time.Second},
	{key: "tcp_max_msg_time", value: "3601", err: `t.yaml:1: tcp_max_msg_time: must be between 1 and 3600, got 3601`},
	{key: "tcp_keepalive", value: "0", want: false},
	{key: "tcp_keepalive", value: "2", err: `t.yaml:1: tcp_keepalive: must be 0 or 1, got 2`},
	{key: "tcp_keepcount", value: "5", want: 5},
	{key: "tcp_keepcount", value: "128", err: `t.yaml:1: tcp_keepcount: must be between 0 and 127, got 128`},
	{key: "tcp_keepcount", value: "-1", err: `t.yaml:1: tcp_keepcount: must be between 0 and 127, got -1`},
	{key: "tcp_keepidle", value: "30", want: 30 * time.Second},
	{key: "tcp_keepidle", value: "32768", err: `t.yaml:1: tcp_keepidle: must be between 0 and 32767, got 32768`},
	{key: "tcp_keepinterval", value: "10", want: 10 * time.Second},
	{key: "tcp_keepinterval", value: "-5", err: `t.yaml:1: tcp_keepinterval: must be between 0 and 32767, got -5`},
	{key: "tcp_max_msg_size", value: "131072", want: 131072},
	{key: "tcp_max_msg_size", value: "100", err: `t.yaml:1: tcp_max_msg_size: must be between 1024 and 16777216, got 100`},
	{key: "tcp_info_interval", value: "1000", want: time.Second},
	{key: "tcp_info_interval", value: "0", want: time.Duration(0)},
	{key: "tcp_info_interval", value: "-1", err: `t.yaml:1: tcp_info_interval: must be between 0 and 600000, got -1`},
	{key: "tcp_info_per_tick", value: "64", want: 64},
	{key: "tcp_info_per_tick", value: "0", err: `t.yaml:1: tcp_info_per_tick: must be between 1 and 1000000, got 0`},
	{key: "trace_on", value: "0", want: false},
	{key: "trace_on", value: "off", err: `t.yaml:1: trace_on: must be 0 or 1, got "off"`},
	{key: "trace_destination", value: "homer", want: "homer"},
	{key: "trace_destination", value: `""`, want: ""},
	{key: "trace_destination", value: "", want: ""},
	{key: "trace_destination", value: "nope", err: `t.yaml:1: trace_destination: no hep_id is named "nope" (hep_id names: homer)`},
	{key: "trace_destination", value: "{a: 1}", err: `t.yaml:1: trace_destination: must be a string, got a mapping`},
	{key: "trace_filter_route", value: "tcp_filter", want: "tcp_filter"},
	{key: "trace_filter_route", value: "nope", err: `t.yaml:1: trace_filter_route: no route is named "nope" (route names: tcp_filter)`},
	{key: "hep_id", value: `["[homer] 127.0.0.1:9060; transport=udp; version=3", "[tcp_dest]10.0.0.2;transport=tcp;version=3"]`,
		want: []string{"[homer] 127.0.0.1:9060; transport=udp; version=3", "[tcp_dest]10.0.0.2;transport=tcp;version=3"}},
	{key: "hep_id", value: `["homer 127.0.0.1:9060"]`, err: `t.yaml:1: hep_id: "homer 127.0.0.1:9060": must start with "[name]"`},
	{key: "hep_id", value: `["[] 127.0.0.1:9060"]`, err: `t.yaml:1: hep_id: "[] 127.0.0.1:9060": has an empty name in "[]"`},
	{key: "hep_id", value: `["[homer 127.0.0.1:9060"]`, err: `t.yaml:1: hep_id: "[homer 127.0.0.1:9060": has no "]" after its name`},
	{key: "hep_id", value: `["[homer] ; version=3"]`, err: `t.yaml:1: hep_id: "[homer] ; version=3": names no destination after "[name]"`},
	{key: "hep_id", value: "\n  - '[homer] 127.0.0.1:9060'\n  - '[homer] 127.0.0.2:9060'",
		err: `t.yaml:3: hep_id: name "homer" is used twice (first at line 2)`},
	{key: "hep_capture_id", value: "234", want: 234},
	{key: "hep_capture_id", value: "-1", err: `t.yaml:1: hep_capture_id: must be between 0 and 4294967295, got -1`},
	{key: "route", value: "{f: drop;, g: exit}", want: map[string]string{"f": "drop;", "g": "exit"}},
	{key: "route", value: `{"bad name": drop}`, err: `t.yaml:1: route: "bad name": a route name is made of letters, digits and "_.:-"`},
	{key: "route", value: "{f: [drop]}", err: `t.yaml:1: route: "f" must be a string, got a list`},
	{key: "route", value: "\n  f: drop\n  f: exit", err: `t.yaml:3: route: "f" given twice (first at line 2)`},
	{key: "route", value: "drop", err: `t.yaml:1: route: must be a mapping of names to strings, got "drop"`},

	{key: "hep.format", value: "opensips", want: "opensips"},
	{key: "hep.format", value: "xml", err: `t.yaml:2: hep.format: must be homer or opensips, got "xml"`},
	{key: "hep.opensips_payload", value: "text", want: "text"},
	{key: "hep.opensips_payload", value: "csv", err: `t.yaml:2: hep.opensips_payload: must be json or text, got "csv"`},
	{key: "hep.trace_messages", value: "false", want: false},
	{key: "hep.udp_gso", value: "false", want: false},
	{key: "hep.udp_gso", value: "0", err: `t.yaml:2: hep.udp_gso: must be true or false, got 0`},
	{key: "hep.trace_messages", value: "1", err: `t.yaml:2: hep.trace_messages: must be true or false, got 1`},
	{key: "hep.capture_node", value: "node1", want: "node1"},
	{key: "hep.capture_node", value: "[a]", err: `t.yaml:2: hep.capture_node: must be a string, got a list`},
	{key: "hep.auth_key", value: "s3cret", want: "s3cret"},
	{key: "hep.queue_size", value: "100", want: 100},
	{key: "hep.queue_size", value: "0", err: `t.yaml:2: hep.queue_size: must be between 1 and 10000000, got 0`},
	{key: "hep.udp_workers", value: "2", want: 2},
	{key: "hep.udp_workers", value: "65", err: `t.yaml:2: hep.udp_workers: must be between 0 and 64, got 65`},
	{key: "hep.open_replays_per_conn", value: "1000", want: 1000},
	{key: "hep.open_replays_per_conn", value: "0", err: `t.yaml:2: hep.open_replays_per_conn: must be between 1 and 10000000, got 0`},
	{key: "hep.tls_ca", value: "/etc/ssl/ca.pem", want: "/etc/ssl/ca.pem"},

	{key: "forward.uri", value: `"sip:127.0.0.1:5070;transport=tcp"`, want: "sip:127.0.0.1:5070;transport=tcp"},
	{key: "forward.uri", value: `"sip:proxy@upstream.example.com;lr"`, want: "sip:proxy@upstream.example.com;lr"},
	{key: "forward.uri", value: `"sip:[::1]:5070"`, want: "sip:[::1]:5070"},
	{key: "forward.uri", value: `"sip:127.0.0.1;transport=udp"`,
		err: `t.yaml:2: forward.uri: "sip:127.0.0.1;transport=udp": transport must be tcp, got "udp"`},
	{key: "forward.uri", value: `"sips:127.0.0.1"`,
		err: `t.yaml:2: forward.uri: "sips:127.0.0.1": sips needs TLS, and sipwire forwards over TCP: use a sip: URI`},
	{key: "forward.uri", value: `"http://127.0.0.1"`, err: `t.yaml:2: forward.uri: "http://127.0.0.1" is not a sip: URI`},
	{key: "forward.uri", value: `"sip:127.0.0.1:0"`, err: `t.yaml:2: forward.uri: "sip:127.0.0.1:0": port "0" must be between 1 and 65535`},
	{key: "forward.uri", value: `"sip:bad_host"`, err: `t.yaml:2: forward.uri: "sip:bad_host": host "bad_host" is neither an IP address nor a DNS name`},
	{key: "forward.record_route", value: "false", want: false},
	{key: "forward.record_route", value: "no", err: `t.yaml:2: forward.record_route: must be true or false, got "no"`},
	{key: "forward.relay_extensions", value: "[sec-agree, gruu]", want: []string{"sec-agree", "gruu"}},
	{key: "forward.relay_extensions", value: `["sec agree"]`, err: "t.yaml:2: forward.relay_extensions: \"sec agree\": must be a SIP option-tag (a token: letters, digits and -.!%*_+`'~)"},

	{key: "web.listen", value: "off", want: "off"},
	{key: "web.listen", value: `"[::1]:8081"`, want: "[::1]:8081"},
	{key: "web.listen", value: "8080", err: `t.yaml:2: web.listen: must be "host:port" or "off", got "8080"`},
	{key: "web.token", value: "t0ken", want: "t0ken"},
	{key: "web.allowed_hosts", value: "[sipwire.example.com, '10.0.0.1:8080']", want: []string{"sipwire.example.com", "10.0.0.1:8080"}},
	{key: "web.allowed_hosts", value: `["a b"]`, err: `t.yaml:2: web.allowed_hosts: "a b": must be a host name or host:port`},
	{key: "web.allowed_origins", value: `["https://ui.example.com"]`, want: []string{"https://ui.example.com"}},
	{key: "web.allowed_origins", value: `["ui.example.com"]`,
		err: `t.yaml:2: web.allowed_origins: "ui.example.com": must be "http://host[:port]" or "https://host[:port]"`},
	{key: "web.event_ring", value: "5", want: 5},
	{key: "web.event_ring", value: "0", err: `t.yaml:2: web.event_ring: must be between 1 and 10000000, got 0`},
	{key: "web.pcap_ring_size", value: "96MiB", want: int64(96 << 20)},
	{key: "web.pcap_ring_size", value: "4GiB", err: `t.yaml:2: web.pcap_ring_size: must be between 64KiB and 2GiB, got 4GiB`},
	{key: "web.max_event_streams", value: "8", want: 8},
	{key: "web.max_event_streams", value: "0", err: `t.yaml:2: web.max_event_streams: must be between 1 and 10000, got 0`},

	{key: "otel.endpoint", value: "localhost:4317", want: "localhost:4317"},
	{key: "otel.endpoint", value: "http://localhost:4318", want: "http://localhost:4318"},
	{key: "otel.endpoint", value: "localhost", err: `t.yaml:2: otel.endpoint: must be "host:port" or an http(s) URL, got "localhost"`},
	{key: "otel.protocol", value: "http/protobuf", want: "http/protobuf"},
	{key: "otel.protocol", value: "http", err: `t.yaml:2: otel.protocol: must be grpc or http/protobuf, got "http"`},
	{key: "otel.service_name", value: "edge-1", want: "edge-1"},
	{key: "otel.service_name", value: `""`, err: `t.yaml:2: otel.service_name: must not be empty`},
	{key: "otel.insecure", value: "false", want: false},
	{key: "otel.headers", value: `{Authorization: "Bearer x"}`, want: map[string]string{"Authorization": "Bearer x"}},
	{key: "otel.headers", value: `{"bad header": x}`, err: `t.yaml:2: otel.headers: "bad header": not a valid HTTP header name`},

	{key: "history.enabled", value: "false", want: false},
	{key: "history.path", value: "/var/lib/sipwire/h.db", want: "/var/lib/sipwire/h.db"},
	{key: "history.path", value: `""`, err: `t.yaml:2: history.path: must not be empty`},
	{key: "history.record_untraced", value: "false", want: false},
	{key: "otel.open_span_delay", value: "0s", want: time.Duration(0)},
	{key: "otel.open_span_delay", value: "2h", err: `t.yaml:2: otel.open_span_delay: must be between 0s and 1h, got 2h`},
	{key: "history.retention", value: "24h", want: 24 * time.Hour},
	{key: "history.retention", value: "1s", err: `t.yaml:2: history.retention: must be between 1m and 87600h, got 1s`},
	{key: "history.retention", value: "soon", err: `t.yaml:2: history.retention: must be a duration such as "1s" or "168h", got "soon"`},
	{key: "history.retention", value: "5", err: `t.yaml:2: history.retention: must be a duration such as "1s" or "168h", got 5`},
	{key: "history.max_size", value: "512MiB", want: int64(512 << 20)},
	{key: "history.max_size", value: "10GB", want: int64(10e9)},
	{key: "history.max_size", value: "1048576", want: int64(1 << 20)},
	{key: "history.max_size", value: "1024", err: `t.yaml:2: history.max_size: must be between 1MiB and 1TiB, got 1KiB`},
	{key: "history.max_size", value: "big", err: `t.yaml:2: history.max_size: must be a size such as "512MiB" or "1GiB", got "big"`},
	{key: "history.flush_interval", value: "250ms", want: 250 * time.Millisecond},
	{key: "history.flush_interval", value: "2h", err: `t.yaml:2: history.flush_interval: must be between 1ms and 1h, got 2h`},
	{key: "history.queue_size", value: "10", want: 10},
	{key: "history.queue_size", value: "-5", err: `t.yaml:2: history.queue_size: must be between 1 and 10000000, got -5`},
	{key: "history.cache_size", value: "32MiB", want: int64(32 << 20)},
	{key: "history.cache_size", value: "100KiB", err: `t.yaml:2: history.cache_size: must be between 256KiB and 1GiB, got 100KiB`},
	{key: "history.reader_cache_size", value: "1MiB", want: int64(1 << 20)},
	{key: "history.reader_cache_size", value: "2GiB", err: `t.yaml:2: history.reader_cache_size: must be between 256KiB and 1GiB, got 2GiB`},

	{key: "log.level", value: "debug", want: "debug"},
	{key: "log.level", value: "trace", err: `t.yaml:2: log.level: must be debug, info, warn or error, got "trace"`},
	{key: "log.format", value: "json", want: "json"},
	{key: "log.format", value: "xml", err: `t.yaml:2: log.format: must be text or json, got "xml"`},
}

func TestKeys(t *testing.T) {
	for _, kc := range keyCases {
		t.Run(kc.key+"="+kc.value, func(t *testing.T) {
			c, err := Parse([]byte(kc.doc()), "t.yaml")
			if kc.err != "" {
				if err == nil {
					t.Fatalf("no error, want %s", kc.err)
				}
				if err.Error() != kc.err {
					t.Fatalf("error\n got %s\nwant %s", err, kc.err)
				}
				var e *Error
				if !errors.As(err, &e) || !(errors.Is(err, ErrValue) || errors.Is(err, ErrType)) {
					t.Errorf("error %v is not an *Error of ErrValue or ErrType", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := get(c, kc.key); !reflect.DeepEqual(got, kc.want) {
				t.Errorf("%s = %#v, want %#v", kc.key, got, kc.want)
			}
		})
	}
}

// Every key has a valid and an invalid case.
func TestKeysCovered(t *testing.T) {
	valid, invalid := map[string]bool{}, map[string]bool{}
	for _, kc := range keyCases {
		if kc.err == "" {
			valid[kc.key] = true
		} else {
			invalid[kc.key] = true
		}
	}
	noInvalid := map[string]bool{ // any string or either boolean is fine
		"hep.auth_key": true, "hep.tls_ca": true, "web.token": true, "otel.insecure": true,
		"history.enabled": true, "history.record_untraced": true,
	}
	for _, f := range Default().fields() {
		get(Default(), f.key)
		if !valid[f.key] {
			t.Errorf("%s has no valid case", f.key)
		}
		if !invalid[f.key] && !noInvalid[f.key] {
			t.Errorf("%s has no invalid case", f.key)
		}
	}
}

// The json and yaml tags name the keys of the file.
func TestTagsAreKeys(t *testing.T) {
	var keys []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("yaml")
		if f.Tag.Get("json") != name {
			t.Errorf("%s: json tag %q, yaml tag %q", f.Name, f.Tag.Get("json"), name)
		}
		if f.Type.Kind() != reflect.Struct {
			keys = append(keys, name)
			continue
		}
		for j := range f.Type.NumField() {
			sf := f.Type.Field(j)
			if sf.Tag.Get("json") != sf.Tag.Get("yaml") {
				t.Errorf("%s.%s: json and yaml tags differ", f.Name, sf.Name)
			}
			keys = append(keys, name+"."+sf.Tag.Get("yaml"))
		}
	}
	var fieldKeys []string
	for _, f := range Default().fields() {
		fieldKeys = append(fieldKeys, f.key)
	}
	if !reflect.DeepEqual(keys, fieldKeys) {
		t.Errorf("tags\n%v\nkeys\n%v", keys, fieldKeys)
	}
}
