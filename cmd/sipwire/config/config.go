package config

import (
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Config is sipwire's configuration. The top-level fields carry OpenSIPS'
// names, units and defaults (ms and s become time.Duration, 0|1 switches
// become bool); the sections hold sipwire's own settings. Each field's doc
// says what it bounds; Default gives every field its value.
type Config struct {
	// Socket lists the SIP listeners in OpenSIPS socket= syntax
	// "tcp:IP[:port]" (IPv6 in brackets; no port means TCPPort; port 0 means
	// any free port). At least one is needed.
	Socket []string `yaml:"socket" json:"socket"`

	// TCPPort is proto_tcp's tcp_port: the port of a listener or a
	// destination that names none.
	TCPPort int `yaml:"tcp_port" json:"tcp_port"`

	// TCPSendTimeout is tcp_send_timeout (ms in the file): the bound of a
	// blocking write when TCPAsync is off.
	TCPSendTimeout time.Duration `yaml:"tcp_send_timeout" json:"tcp_send_timeout"`

	// TCPMaxMsgChunks is tcp_max_msg_chunks: how many reads may leave a
	// message incomplete before the connection is closed; <= 0 is unlimited.
	TCPMaxMsgChunks int `yaml:"tcp_max_msg_chunks" json:"tcp_max_msg_chunks"`

	// TCPCRLFPingPong is tcp_crlf_pingpong: a CRLFCRLF keep-alive is
	// answered with CRLF.
	TCPCRLFPingPong bool `yaml:"tcp_crlf_pingpong" json:"tcp_crlf_pingpong"`

	// TCPCRLFDrop is tcp_crlf_drop: a lone CRLF between messages is dropped.
	TCPCRLFDrop bool `yaml:"tcp_crlf_drop" json:"tcp_crlf_drop"`

	// TCPAsync is tcp_async: connects and writes do not block the sender.
	TCPAsync bool `yaml:"tcp_async" json:"tcp_async"`

	// TCPAsyncMaxPostponedChunks is tcp_async_max_postponed_chunks: how many
	// writes may wait in a connection's queue before the connection is
	// dropped (at least 2).
	TCPAsyncMaxPostponedChunks int `yaml:"tcp_async_max_postponed_chunks" json:"tcp_async_max_postponed_chunks"`

	// TCPAsyncLocalConnectTimeout is tcp_async_local_connect_timeout (ms in
	// the file): how long a connect is waited for inline before it goes on
	// in the background.
	TCPAsyncLocalConnectTimeout time.Duration `yaml:"tcp_async_local_connect_timeout" json:"tcp_async_local_connect_timeout"`

	// TCPAsyncLocalWriteTimeout is tcp_async_local_write_timeout (ms in the
	// file): how long a write is tried inline before the rest is queued.
	TCPAsyncLocalWriteTimeout time.Duration `yaml:"tcp_async_local_write_timeout" json:"tcp_async_local_write_timeout"`

	// TCPParallelHandling is tcp_parallel_handling: the next message of a
	// connection may be handled while the previous one still is, so
	// handling order is not kept.
	TCPParallelHandling bool `yaml:"tcp_parallel_handling" json:"tcp_parallel_handling"`

	// TCPMaxConnections is the OpenSIPS core parameter tcp_max_connections:
	// the bound of open connections.
	TCPMaxConnections int `yaml:"tcp_max_connections" json:"tcp_max_connections"`

	// TCPConnectionLifetime is the core parameter tcp_connection_lifetime (s
	// in the file): a connection with no traffic for this long is closed.
	TCPConnectionLifetime time.Duration `yaml:"tcp_connection_lifetime" json:"tcp_connection_lifetime"`

	// TCPMaxMsgTime is the core parameter tcp_max_msg_time (s in the file):
	// the bound of the time a started message may take to arrive whole.
	TCPMaxMsgTime time.Duration `yaml:"tcp_max_msg_time" json:"tcp_max_msg_time"`

	// TCPKeepAlive is the core parameter tcp_keepalive: TCP keepalive
	// probes on every connection. Setting TCPKeepCount, TCPKeepIdle or
	// TCPKeepInterval turns them on all the same, as in OpenSIPS.
	TCPKeepAlive bool `yaml:"tcp_keepalive" json:"tcp_keepalive"`

	// TCPKeepCount is the core parameter tcp_keepcount: unanswered
	// keepalive probes before the connection is dropped; 0 keeps the
	// system's value.
	TCPKeepCount int `yaml:"tcp_keepcount" json:"tcp_keepcount"`

	// TCPKeepIdle is the core parameter tcp_keepidle (s in the file): idle
	// time before the first keepalive probe; 0 keeps the system's value.
	TCPKeepIdle time.Duration `yaml:"tcp_keepidle" json:"tcp_keepidle"`

	// TCPKeepInterval is the core parameter tcp_keepinterval (s in the
	// file): time between unanswered keepalive probes; 0 keeps the
	// system's value.
	TCPKeepInterval time.Duration `yaml:"tcp_keepinterval" json:"tcp_keepinterval"`

	// TCPMaxMsgSize bounds one SIP message, header block plus body, in bytes.
	TCPMaxMsgSize int `yaml:"tcp_max_msg_size" json:"tcp_max_msg_size"`

	// TCPInfoInterval (ms in the file) is how often the kernel's figures
	// (TCP_INFO) of every open connection are read for the connection
	// table and the dashboard; 0 reads them only at close and on demand.
	TCPInfoInterval time.Duration `yaml:"tcp_info_interval" json:"tcp_info_interval"`

	// TCPInfoPerTick bounds the connections read at one tick of
	// TCPInfoInterval; the rest wait for later ticks.
	TCPInfoPerTick int `yaml:"tcp_info_per_tick" json:"tcp_info_per_tick"`

	// TraceOn is proto_tcp's trace_on: tracing starts switched on.
	TraceOn bool `yaml:"trace_on" json:"trace_on"`

	// TraceDestination is proto_tcp's trace_destination: the name of the
	// HepID entry that traced events go to; empty means no HEP destination.
	TraceDestination string `yaml:"trace_destination" json:"trace_destination"`

	// TraceFilterRoute is proto_tcp's trace_filter_route: the name of the
	// Route run once per connection to decide whether it is traced; empty
	// traces every connection.
	TraceFilterRoute string `yaml:"trace_filter_route" json:"trace_filter_route"`

	// HepID lists proto_hep's hep_id destinations,
	// "[name] host[:port]; transport=udp|tcp|tls; version=1|2|3".
	HepID []string `yaml:"hep_id" json:"hep_id"`

	// HepCaptureID is proto_hep's hep_capture_id: the capture agent id in
	// every HEP packet.
	HepCaptureID int `yaml:"hep_capture_id" json:"hep_capture_id"`

	// Route holds OpenSIPS route bodies (the text between the braces) by
	// route name. RouteSource gives a body with its line in the file.
	Route map[string]string `yaml:"route" json:"route"`

	// HEP is how traced events and messages are encoded and sent as HEP.
	HEP HEP `yaml:"hep" json:"hep"`

	// Forward is the stateless forwarding to an upstream SIP server.
	Forward Forward `yaml:"forward" json:"forward"`

	// Web is the dashboard and its REST API.
	Web Web `yaml:"web" json:"web"`

	// OTel is the OpenTelemetry export of connection events.
	OTel OTel `yaml:"otel" json:"otel"`

	// History is the embedded event store.
	History History `yaml:"history" json:"history"`

	// Log is sipwire's own log.
	Log Log `yaml:"log" json:"log"`

	// src records where the values were read; it is not configuration.
	src *source
}

// HEP holds sipwire's own HEP settings; the destinations are Config.HepID.
type HEP struct {
	// Format is the encoding of network events: "homer" or "opensips"
	// (OpenSIPS' own: proto type 0x59 and its payload).
	Format string `yaml:"format" json:"format"`

	// OpenSIPSPayload is the event payload for Format "opensips": "json", or
	// "text" (what OpenSIPS sends with homer5_on=1).
	OpenSIPSPayload string `yaml:"opensips_payload" json:"opensips_payload"`

	// TraceMessages sends traced SIP messages as HEP too, not only events.
	TraceMessages bool `yaml:"trace_messages" json:"trace_messages"`

	// CaptureNode is the node name sent in every packet (chunk 0x13); empty
	// sends none.
	CaptureNode string `yaml:"capture_node" json:"capture_node"`

	// AuthKey is the HEP auth key (chunk 0x0e); empty sends none. Secret.
	AuthKey string `yaml:"auth_key" json:"auth_key"`

	// QueueSize bounds the packets waiting per destination; a full queue
	// drops and counts.
	QueueSize int `yaml:"queue_size" json:"queue_size"`

	// UDPWorkers is how many goroutines, each with its own socket, send to
	// a UDP destination; one connection's packets stay in order on one.
	// Zero means min(4, CPUs).
	UDPWorkers int `yaml:"udp_workers" json:"udp_workers"`

	// UDPGSO sends a UDP destination's batches as trains (Linux UDP
	// segmentation offload: a quarter of the kernel's cost per datagram),
	// shorter packets of a train padded with a padding chunk.
	UDPGSO bool `yaml:"udp_gso" json:"udp_gso"`

	// OpenReplaysPerConn is how many of a connection's Call-IDs get its
	// open event sent again, correlated to the Call-ID (format homer), so
	// that Homer's call view shows how the call's connection began.
	OpenReplaysPerConn int `yaml:"open_replays_per_conn" json:"open_replays_per_conn"`

	// TLSCA is the CA file for transport=tls destinations; empty means the
	// system roots.
	TLSCA string `yaml:"tls_ca" json:"tls_ca"`
}

// Forward holds the stateless forwarding settings.
type Forward struct {
	// URI is the upstream, a sip: URI with ;transport=tcp or no transport
	// parameter; empty means no forwarding.
	URI string `yaml:"uri" json:"uri"`

	// RecordRoute adds sipwire as Record-Route (;lr) so that in-dialog
	// requests pass through it.
	RecordRoute bool `yaml:"record_route" json:"record_route"`

	// RelayExtensions are the option-tags a request's Proxy-Require may
	// name and still be relayed (the upstream supports them); any other
	// gets 420 Bad Extension.
	RelayExtensions []string `yaml:"relay_extensions" json:"relay_extensions"`
}

// Web holds the dashboard and API settings.
type Web struct {
	// Listen is the host:port of the dashboard and API, or "off".
	Listen string `yaml:"listen" json:"listen"`

	// Token is the bearer token for state-changing requests; empty means
	// none. Secret; the environment variable SIPWIRE_WEB_TOKEN overrides it
	// (see ApplyEnv).
	Token string `yaml:"token" json:"token"`

	// AllowedHosts are Host header values accepted besides the listen
	// address and localhost.
	AllowedHosts []string `yaml:"allowed_hosts" json:"allowed_hosts"`

	// AllowedOrigins are Origin values ("scheme://host[:port]") accepted
	// for cross-site requests.
	AllowedOrigins []string `yaml:"allowed_origins" json:"allowed_origins"`

	// EventRing bounds the recent events kept in memory for the dashboard.
	EventRing int `yaml:"event_ring" json:"event_ring"`

	// PcapRingSize bounds the memory of the traced SIP messages kept for
	// the call ladder and the pcap export: a SIPp call through the
	// forwarder (12 messages, 5.1 KB of SIP) takes about 6.3 KiB, so 8 MiB
	// hold some 1,300 calls and 10,000 calls need about 63 MiB.
	PcapRingSize int64 `yaml:"pcap_ring_size" json:"pcap_ring_size"`

	// MaxEventStreams bounds the open event streams (Server-Sent Events);
	// one more is refused with a 503 and counted.
	MaxEventStreams int `yaml:"max_event_streams" json:"max_event_streams"`
}

// OTel holds the OpenTelemetry export settings.
type OTel struct {
	// Endpoint is the OTLP collector (host:port or URL); empty means off.
	Endpoint string `yaml:"endpoint" json:"endpoint"`

	// Protocol is "grpc" or "http/protobuf".
	Protocol string `yaml:"protocol" json:"protocol"`

	// ServiceName is the service.name resource attribute.
	ServiceName string `yaml:"service_name" json:"service_name"`

	// Insecure uses plain text instead of TLS to the collector.
	Insecure bool `yaml:"insecure" json:"insecure"`

	// Headers are sent with every export. The values are secrets.
	Headers map[string]string `yaml:"headers" json:"headers"`

	// OpenSpanDelay is how long a connection stays open before its open
	// span is exported; one that closes sooner has its lifetime span only.
	// Zero exports open spans at once.
	OpenSpanDelay time.Duration `yaml:"open_span_delay" json:"open_span_delay"`
}

// History holds the embedded event store settings.
type History struct {
	// Enabled keeps events in the store ("history: off" in the file turns
	// it off).
	Enabled bool `yaml:"enabled" json:"enabled"`

	// Path is the store's SQLite file.
	Path string `yaml:"path" json:"path"`

	// RecordUntraced records every event whether or not tracing is on.
	RecordUntraced bool `yaml:"record_untraced" json:"record_untraced"`

	// Retention: events older than this are deleted.
	Retention time.Duration `yaml:"retention" json:"retention"`

	// MaxSize bounds the store file in bytes; the oldest events go first.
	MaxSize int64 `yaml:"max_size" json:"max_size"`

	// FlushInterval bounds how long an event waits before it is written.
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval"`

	// QueueSize bounds the events waiting to be written; a full queue
	// drops and counts.
	QueueSize int `yaml:"queue_size" json:"queue_size"`

	// CacheSize bounds the SQLite page cache of the store's writer, in
	// bytes (memory outside the Go heap that stays filled once used).
	CacheSize int64 `yaml:"cache_size" json:"cache_size"`

	// ReaderCacheSize bounds the SQLite page cache of each of the store's
	// five other connections (four for queries, one for checkpoints).
	ReaderCacheSize int64 `yaml:"reader_cache_size" json:"reader_cache_size"`
}

// Log holds the settings of sipwire's own log.
type Log struct {
	// Level is "debug", "info", "warn" or "error".
	Level string `yaml:"level" json:"level"`

	// Format is "text" or "json".
	Format string `yaml:"format" json:"format"`
}

// SlogLevel returns Level as a slog.Level (info for an unknown level).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// source records where a Config was read from: the file name, the line of
// every key, and the warnings of an OpenSIPS import.
type source struct {
	name       string
	lines      map[string]int // position key ("tcp_port", "socket[1]", "route.f") -> line
	routeLines map[string]int // route name -> line of the body's first line
	warnings   []string
}

func newSource(name string) *source {
	return &source{name: name, lines: map[string]int{}, routeLines: map[string]int{}}
}

// Source returns the name of the file the configuration was read from
// ("default.yaml" for the embedded default).
func (c *Config) Source() string {
	if c.src == nil {
		return ""
	}
	return c.src.name
}

// Line returns the line at which key was read ("tcp_port", "hep.format",
// "socket[1]", "hep_id[0]", "route.tcp_filter"), or 0 when it was not read
// from the file.
func (c *Config) Line(key string) int {
	if c.src == nil {
		return 0
	}
	return c.src.lines[key]
}

// Warnings returns what an OpenSIPS import skipped, one line each in the
// form "opensips.cfg:17: loadmodule \"tm.so\": not a sipwire module,
// skipped". A YAML file has none.
func (c *Config) Warnings() []string {
	if c.src == nil {
		return nil
	}
	return slices.Clone(c.src.warnings)
}

// KeyError returns err as an *Error at key's file and line, for problems
// found after loading (a hep_id the hep package refuses, a route that does
// not compile). Its sentinel is ErrValue.
func (c *Config) KeyError(key string, err error) error {
	return &Error{File: c.Source(), Line: c.Line(key), Key: key, Msg: err.Error(), Err: ErrValue}
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	if c.src != nil {
		src := *c.src
		src.lines = maps.Clone(c.src.lines)
		src.routeLines = maps.Clone(c.src.routeLines)
		src.warnings = slices.Clone(c.src.warnings)
		d.src = &src
	}
	d.Socket = slices.Clone(c.Socket)
	d.HepID = slices.Clone(c.HepID)
	d.Route = maps.Clone(c.Route)
	d.Web.AllowedHosts = slices.Clone(c.Web.AllowedHosts)
	d.Web.AllowedOrigins = slices.Clone(c.Web.AllowedOrigins)
	d.OTel.Headers = maps.Clone(c.OTel.Headers)
	return &d
}

// Redacted is what it is safe to show: a copy of c with every non-empty
// secret (web.token, hep.auth_key, the values of otel.headers) replaced by
// "<redacted>". GET /api/v1/config serves it.
func (c *Config) Redacted() *Config {
	d := c.Clone()
	d.Web.Token = redact(d.Web.Token)
	d.HEP.AuthKey = redact(d.HEP.AuthKey)
	for k, v := range d.OTel.Headers {
		d.OTel.Headers[k] = redact(v)
	}
	return d
}

// Redaction replaces a secret in Redacted and in Print with redact set.
const Redaction = "<redacted>"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return Redaction
}

// ApplyEnv applies the environment overrides: SIPWIRE_WEB_TOKEN sets
// web.token, and OTEL_EXPORTER_OTLP_ENDPOINT sets otel.endpoint when the file
// leaves it empty. getenv is os.Getenv in production.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv("SIPWIRE_WEB_TOKEN"); v != "" {
		c.Web.Token = v
	}
	if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" && c.OTel.Endpoint == "" {
		c.OTel.Endpoint = v
	}
}
