package config

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sipwire/sipwire/hep"
	"github.com/sipwire/sipwire/transport"
)

// Bounds of the values sipwire accepts.
const (
	maxQueue      = 10_000_000
	maxStreams    = 10_000
	maxChunks     = 1_000_000
	maxConns      = 1_000_000
	maxMillis     = 600_000    // 10 minutes, in ms
	maxInlineMs   = 60_000     // 1 minute, in ms
	maxLifetimeS  = 31_536_000 // a year, in s
	maxMsgTimeS   = 3_600      // an hour, in s
	minMsgSize    = 1024
	maxMsgSize    = 16 << 20
	maxCaptureID  = math.MaxUint32
	minHistory    = 1 << 20
	maxHistory    = 1 << 40
	minCache      = 256 << 10
	minPcapRing   = 64 << 10
	maxPcapRing   = 2 << 30 // within the 32-bit offsets of the ring's index
	maxCache      = 1 << 30
	maxRetention  = 87_600 * time.Hour // 10 years
	maxFlushEvery = time.Hour
)

// section is a mapping of sipwire's own settings.
type section struct {
	name string
	doc  string
}

// sections lists the sections in the order of the file.
func sections() []section {
	return []section{
		{"hep", "sipwire's own HEP settings (the destinations are hep_id above)"},
		{"forward", "stateless forwarding (RFC 3261 16.11) to an upstream SIP server"},
		{"web", "the dashboard and its REST API"},
		{"otel", "OpenTelemetry spans of connection events"},
		{"history", "the embedded event store (\"history: off\" turns it off)"},
		{"log", "sipwire's own log"},
	}
}

// fields binds every key of the file to c, in the order of the file.
func (c *Config) fields() []field {
	ms, s := time.Millisecond, time.Second
	routeLine := func(name string, v *yaml.Node) {
		if c.src == nil {
			return
		}
		line := v.Line
		if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++ // the body starts below the "|"
		}
		c.src.routeLines[name] = line
	}
	return []field{
		listKey("socket", `SIP listeners, OpenSIPS socket= syntax "tcp:IP[:port]" (IPv6 in brackets, port 0 = any free port)`,
			&c.Socket, checkSocket),
		intKey("tcp_port", "proto_tcp: port of a listener or destination that names none",
			&c.TCPPort, 1, 65535),
		unitKey("tcp_send_timeout", "proto_tcp, ms: bound of a whole blocking write when tcp_async is 0",
			&c.TCPSendTimeout, ms, 1, maxMillis),
		intKey("tcp_max_msg_chunks", "proto_tcp: reads that may leave a message incomplete before the connection is closed, <= 0 unlimited",
			&c.TCPMaxMsgChunks, -maxChunks, maxChunks),
		flagKey("tcp_crlf_pingpong", "proto_tcp, 0|1: answer a CRLFCRLF keep-alive with CRLF",
			&c.TCPCRLFPingPong),
		refuseOne(flagKey("tcp_crlf_drop", "proto_tcp, 0 only: sipwire always drops a lone CRLF between messages once it is known to be lone, never half a split ping",
			&c.TCPCRLFDrop), &c.TCPCRLFDrop, "1 is refused: sipwire already discards a lone CRLF between messages as soon as the next byte shows it is lone, and never swallows half of a CRLFCRLF ping split across reads, as OpenSIPS with 1 may; remove the key or set it to 0"),
		flagKey("tcp_async", "proto_tcp, 0|1: connects and writes do not block the sender",
			&c.TCPAsync),
		intKey("tcp_async_max_postponed_chunks", "proto_tcp: writes that may wait in a connection's queue before it is dropped, at least 2",
			&c.TCPAsyncMaxPostponedChunks, transport.MinMaxPostponedChunks, maxChunks),
		unitKey("tcp_async_local_connect_timeout", "proto_tcp, ms: how long a connect is waited for inline before it goes on in the background",
			&c.TCPAsyncLocalConnectTimeout, ms, 1, maxInlineMs),
		unitKey("tcp_async_local_write_timeout", "proto_tcp, ms: how long a write is tried inline before the rest is queued",
			&c.TCPAsyncLocalWriteTimeout, ms, 1, maxInlineMs),
		flagKey("tcp_parallel_handling", "proto_tcp, 0|1: handle a connection's next message while the previous one still is (order not kept)",
			&c.TCPParallelHandling),
		intKey("tcp_max_connections", "OpenSIPS core: bound of open connections",
			&c.TCPMaxConnections, 1, maxConns),
		unitKey("tcp_connection_lifetime", "OpenSIPS core, s: a connection with no traffic for this long is closed",
			&c.TCPConnectionLifetime, s, 1, maxLifetimeS),
		unitKey("tcp_max_msg_time", "OpenSIPS core, s: bound of the time a started message may take to arrive whole",
			&c.TCPMaxMsgTime, s, 1, maxMsgTimeS),
		flagKey("tcp_keepalive", "OpenSIPS core, 0|1: TCP keepalive probes on every connection (setting tcp_keepcount, tcp_keepidle or tcp_keepinterval turns them on all the same)",
			&c.TCPKeepAlive),
		intKey("tcp_keepcount", "OpenSIPS core: unanswered keepalive probes before the connection is dropped, 0 = the system's (net.ipv4.tcp_keepalive_probes)",
			&c.TCPKeepCount, 0, transport.MaxKeepAliveCount),
		unitKey("tcp_keepidle", "OpenSIPS core, s: idle time before the first keepalive probe, 0 = the system's (net.ipv4.tcp_keepalive_time)",
			&c.TCPKeepIdle, s, 0, int(transport.MaxKeepAliveIdle/time.Second)),
		unitKey("tcp_keepinterval", "OpenSIPS core, s: time between unanswered keepalive probes, 0 = the system's (net.ipv4.tcp_keepalive_intvl)",
			&c.TCPKeepInterval, s, 0, int(transport.MaxKeepAliveInterval/time.Second)),
		intKey("tcp_max_msg_size", "bytes: bound of one SIP message, header block plus body",
			&c.TCPMaxMsgSize, minMsgSize, maxMsgSize),
		unitKey("tcp_info_interval", "ms: how often the kernel's figures (TCP_INFO) of every open connection are read for the dashboard, 0 = only at close and on demand",
			&c.TCPInfoInterval, ms, 0, maxMillis),
		intKey("tcp_info_per_tick", "connections read at one tick of tcp_info_interval; the rest wait for later ticks",
			&c.TCPInfoPerTick, 1, maxConns),
		flagKey("trace_on", "proto_tcp, 0|1: tracing starts switched on (OpenSIPS' default is 0)",
			&c.TraceOn),
		stringKey("trace_destination", `proto_tcp: the hep_id name traced events go to, "" = none (an unknown name is an error)`,
			&c.TraceDestination, nil),
		stringKey("trace_filter_route", `proto_tcp: route run once per connection, "drop" there = not traced, "" = trace all`,
			&c.TraceFilterRoute, nil),
		listKey("hep_id", `proto_hep: HEP destinations "[name] host[:port]; transport=udp|tcp|tls; version=1|2|3"`,
			&c.HepID, checkHepID),
		intKey("hep_capture_id", "proto_hep: capture agent id in every HEP packet",
			&c.HepCaptureID, 0, maxCaptureID),
		mapKey("route", "OpenSIPS route bodies by name (the text between the braces), for trace_filter_route; default: one example, tcp_filter, unused until trace_filter_route names it",
			&c.Route, checkRouteName, routeLine).literalValues(),

		enumKey("hep.format", "homer | opensips: event encoding, Homer's or OpenSIPS' own (proto type 0x59)",
			&c.HEP.Format, "homer", "opensips"),
		enumKey("hep.opensips_payload", "json | text: event payload of format opensips (OpenSIPS' homer5_on=1 is text)",
			&c.HEP.OpenSIPSPayload, "json", "text"),
		boolKey("hep.trace_messages", "send traced SIP messages as HEP too, not only connection events",
			&c.HEP.TraceMessages),
		stringKey("hep.capture_node", `node name in every HEP packet (chunk 0x13), "" = none`,
			&c.HEP.CaptureNode, nil),
		stringKey("hep.auth_key", `secret: HEP auth key (chunk 0x0e), "" = none`,
			&c.HEP.AuthKey, nil).secretValue(),
		intKey("hep.queue_size", "packets waiting per destination; more are dropped and counted",
			&c.HEP.QueueSize, 1, maxQueue),
		intKey("hep.udp_workers", "goroutines, each with its own socket, sending to a UDP destination (a connection's packets stay in order on one); 0 = min(4, CPUs)",
			&c.HEP.UDPWorkers, 0, hep.MaxUDPWorkers),
		boolKey("hep.udp_gso", "UDP destinations: send each batch as trains of equal datagrams cut by the kernel (Linux UDP GSO, ~1 µs a datagram instead of ~4), shorter ones padded (at most 2x) with a padding chunk collectors skip",
			&c.HEP.UDPGSO),
		intKey("hep.open_replays_per_conn", "format homer: a connection's first N Call-IDs get its open event again, correlated to the Call-ID (a trunk's later calls get only its CLOSED)",
			&c.HEP.OpenReplaysPerConn, 1, maxQueue),
		stringKey("hep.tls_ca", `CA file for transport=tls destinations, "" = the system roots`,
			&c.HEP.TLSCA, nil),

		stringKey("forward.uri", `upstream, e.g. "sip:127.0.0.1:5070;transport=tcp" (tcp only), "" = no forwarding`,
			&c.Forward.URI, errText(CheckForwardURI)),
		boolKey("forward.record_route", "add sipwire as Record-Route (;lr) so that in-dialog requests pass through it",
			&c.Forward.RecordRoute),
		listKey("forward.relay_extensions", "option-tags a request's Proxy-Require may name and still be relayed, the upstream's extensions (e.g. sec-agree before an IMS P-CSCF); any other is answered 420 Bad Extension",
			&c.Forward.RelayExtensions, checkOptionTag),

		stringKey("web.listen", `host:port of the dashboard and API, "off" = none`,
			&c.Web.Listen, checkListen),
		stringKey("web.token", `secret: bearer token for state-changing requests (env SIPWIRE_WEB_TOKEN overrides), "" = none`,
			&c.Web.Token, nil).secretValue(),
		listKey("web.allowed_hosts", "Host header values accepted besides the listen address and localhost",
			&c.Web.AllowedHosts, checkHost),
		listKey("web.allowed_origins", `Origin values "scheme://host[:port]" accepted for cross-site requests`,
			&c.Web.AllowedOrigins, checkOrigin),
		intKey("web.event_ring", "recent events kept in memory for the dashboard",
			&c.Web.EventRing, 1, maxQueue),
		sizeKey("web.pcap_ring_size", "memory of the traced SIP messages kept for the call ladder and the pcap export (a call of 12 messages takes about 6 KiB)",
			&c.Web.PcapRingSize, minPcapRing, maxPcapRing),
		intKey("web.max_event_streams", "open event streams (dashboards, sipwire events -f); one more is refused with a 503 and counted",
			&c.Web.MaxEventStreams, 1, maxStreams),

		stringKey("otel.endpoint", `OTLP collector, host:port or URL, "" = off (env OTEL_EXPORTER_OTLP_ENDPOINT also turns it on)`,
			&c.OTel.Endpoint, checkEndpoint),
		enumKey("otel.protocol", "grpc | http/protobuf",
			&c.OTel.Protocol, "grpc", "http/protobuf"),
		stringKey("otel.service_name", "service.name of the spans",
			&c.OTel.ServiceName, notEmpty),
		boolKey("otel.insecure", "plain text instead of TLS to the collector",
			&c.OTel.Insecure),
		mapKey("otel.headers", "headers sent with every export (the values are secrets)",
			&c.OTel.Headers, checkHeaderName, nil).secretValue(),
		durationKey("otel.open_span_delay", "a connection open this long gets its open span exported before it closes (one closed sooner has its lifetime span only); 0s = at once",
			&c.OTel.OpenSpanDelay, 0, time.Hour),

		boolKey("history.enabled", "keep events in the store",
			&c.History.Enabled),
		stringKey("history.path", "SQLite file of the store",
			&c.History.Path, notEmpty),
		boolKey("history.record_untraced", "record every event whether or not tracing is on",
			&c.History.RecordUntraced),
		durationKey("history.retention", "events older than this are deleted",
			&c.History.Retention, time.Minute, maxRetention),
		sizeKey("history.max_size", "bound of the store file; the oldest events are deleted first",
			&c.History.MaxSize, minHistory, maxHistory),
		durationKey("history.flush_interval", "bound of how long an event waits before it is written",
			&c.History.FlushInterval, time.Millisecond, maxFlushEvery),
		intKey("history.queue_size", "events waiting to be written; more are dropped and counted",
			&c.History.QueueSize, 1, maxQueue),
		sizeKey("history.cache_size", "bound of the SQLite page cache of the store's writer (memory outside the Go heap that stays filled once used)",
			&c.History.CacheSize, minCache, maxCache),
		sizeKey("history.reader_cache_size", "bound of the SQLite page cache of each of the store's 5 other connections (4 for queries, 1 for checkpoints)",
			&c.History.ReaderCacheSize, minCache, maxCache),

		enumKey("log.level", "debug | info | warn | error",
			&c.Log.Level, "debug", "info", "warn", "error"),
		enumKey("log.format", "text | json",
			&c.Log.Format, "text", "json"),
	}
}

// secretValue marks a secret: Print can redact it, and its value (each value
// of a map) must not be Redaction, which would otherwise load as the secret.
func (f field) secretValue() field {
	f.secret = true
	check := f.check
	f.check = func() []issue { return append(check(), redactedIssues(f.key, f.value())...) }
	return f
}

// redactedIssues reports the values of a secret key that are Redaction.
func redactedIssues(key string, v any) []issue {
	const msg = "%s is what -print-config writes in place of a secret, not a secret: put the secret back, or remove the key%s"
	env := ""
	if key == "web.token" {
		env = " and set it in SIPWIRE_WEB_TOKEN"
	}
	switch v := v.(type) {
	case string:
		if v == Redaction {
			return oneIssue(key, ErrValue, msg, Redaction, env)
		}
	case map[string]string:
		var issues []issue
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if v[k] == Redaction {
				issues = append(issues, oneIssue(key+"."+k, ErrValue, "%q: "+msg, k, Redaction, env)...)
			}
		}
		return issues
	}
	return nil
}
func (f field) literalValues() field { f.literal = true; return f }

// errText adapts a validating function to a field's check.
func errText(check func(string) error) func(string) string {
	return func(s string) string {
		if err := check(s); err != nil {
			return err.Error()
		}
		return ""
	}
}

func notEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "must not be empty"
	}
	return ""
}

// sectionOf returns the section of a key ("hep" for "hep.format"), or "".
func sectionOf(key string) string {
	sec, _, ok := strings.Cut(key, ".")
	if !ok {
		return ""
	}
	return sec
}

// fieldMap indexes fields by key.
func fieldMap(fs []field) map[string]field {
	m := make(map[string]field, len(fs))
	for _, f := range fs {
		m[f.key] = f
	}
	return m
}
