package hep

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"
)

// Defaults of the tracer's own settings.
const (
	DefaultCaptureID    = 1        // proto_hep's hep_capture_id
	DefaultQueueSize    = 8192     // packets per destination
	DefaultQueueBytes   = 16 << 20 // bytes per destination
	DefaultBackoffMin   = 100 * time.Millisecond
	DefaultBackoffMax   = 30 * time.Second
	DefaultDialTimeout  = 3 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	// DefaultRecoverAfter is the default of Config.RecoverAfter.
	DefaultRecoverAfter = time.Second
	// DefaultUDPProbeInterval is the default of Config.UDPProbeInterval.
	DefaultUDPProbeInterval = time.Second
	// DefaultUDPRefusalWait is the default of Config.UDPRefusalWait.
	DefaultUDPRefusalWait = 200 * time.Millisecond
	DefaultBatchDelay     = time.Millisecond
	// DefaultOpenReplaysPerConn is the default of Config.OpenReplaysPerConn.
	DefaultOpenReplaysPerConn = 16
	// MaxDefaultUDPWorkers caps the default of Config.UDPWorkers, which is
	// GOMAXPROCS.
	MaxDefaultUDPWorkers = 4
	// MaxUDPWorkers is the most Config.UDPWorkers may ask for.
	MaxUDPWorkers = 64
)

// Format is how network events are encoded.
type Format uint8

// The event formats.
const (
	// FormatHomer: proto type 100 (LOG) with a JSON payload that has
	// OpenSIPS' keys plus the connection id, direction, addresses and
	// reason; correlation id = the connection id. A connection's open event
	// is repeated with each of the first Config.OpenReplaysPerConn Call-IDs
	// it carries, and its CLOSED event with each Call-ID it carried recently,
	// as correlation id, so that Homer's call view shows them.
	FormatHomer Format = iota
	// FormatOpenSIPS: exactly OpenSIPS' proto type 0x59, correlation id =
	// the connection id in decimal, payload per OpenSIPSPayload.
	FormatOpenSIPS
)

// String returns "homer" or "opensips".
func (f Format) String() string {
	if f == FormatOpenSIPS {
		return "opensips"
	}
	return "homer"
}

// ParseFormat parses "homer" or "opensips" (the config key hep.format).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "homer", "":
		return FormatHomer, nil
	case "opensips":
		return FormatOpenSIPS, nil
	}
	return 0, fmt.Errorf("%w: format %q: want homer or opensips", ErrConfig, s)
}

// PayloadStyle is the payload of FormatOpenSIPS events.
type PayloadStyle uint8

// The OpenSIPS payload styles.
const (
	// PayloadJSON: {"Protocol":"TCP","Event":"ACCEPTED","Status":"SUCCESS","Message":"..."}.
	PayloadJSON PayloadStyle = iota
	// PayloadText: OpenSIPS' homer5_on=1 form, TCP:ACCEPTED:SUCCESS:message.
	PayloadText
)

// String returns "json" or "text".
func (s PayloadStyle) String() string {
	if s == PayloadText {
		return "text"
	}
	return "json"
}

// ParsePayloadStyle parses "json" or "text" (the config key
// hep.opensips_payload).
func ParsePayloadStyle(s string) (PayloadStyle, error) {
	switch s {
	case "json", "":
		return PayloadJSON, nil
	case "text":
		return PayloadText, nil
	}
	return 0, fmt.Errorf("%w: opensips_payload %q: want json or text", ErrConfig, s)
}

// Config configures a Tracer. The zero value of each field means its
// documented default.
type Config struct {
	// Destinations receive every packet (usually the one hep_id that
	// trace_destination names). At least one is required.
	Destinations []Destination
	// Format of network events (hep.format). Zero means FormatHomer.
	Format Format
	// OpenSIPSPayload is the payload style of FormatOpenSIPS events
	// (hep.opensips_payload). Zero means PayloadJSON.
	OpenSIPSPayload PayloadStyle
	// DisableMessages is hep.trace_messages=false: traced SIP messages are
	// not sent as HEP type 1 (their Call-IDs still feed FormatHomer's call
	// view).
	DisableMessages bool
	// CaptureID is chunk 0x0c (hep_capture_id). Zero means 1.
	CaptureID uint32
	// NodeName is chunk 0x13 (hep.capture_node); empty means none.
	NodeName string
	// AuthKey is chunk 0x0e (hep.auth_key); empty means none.
	AuthKey string
	// QueueSize bounds each destination's queue in packets
	// (hep.queue_size): the packets waiting for all its workers together.
	// Zero means 8192.
	QueueSize int
	// QueueBytes bounds each destination's queue in bytes, all its workers
	// together. Zero means 16 MiB.
	QueueBytes int
	// UDPWorkers is how many goroutines send to each UDP destination
	// (hep.udp_workers), each through a socket of its own (so from its own
	// source port), so that the kernel's cost of sending, charged to the
	// sending thread, is spread over cores. The packets of one connection
	// always go through the same worker (the connection id modulo the
	// number of workers, so consecutive connections use different ones),
	// in order; those of different connections may arrive in another order
	// than they were traced, and one busy connection (a trunk) keeps one
	// worker busy, no more.
	// QueueSize and QueueBytes bound the destination as a whole, whichever
	// worker the packets wait for. Zero means min(4, GOMAXPROCS); 1 sends
	// every packet in order through one socket; more than MaxUDPWorkers is
	// an error. TCP and TLS destinations always have one connection, so one
	// worker.
	UDPWorkers int
	// DisableUDPGSO sends each HEP datagram with a message of its own
	// (hep.udp_gso 0). By default (on Linux, where the path's MTU can be
	// read) consecutive packets of a batch go as trains: one buffer of
	// datagrams of one size that the kernel's UDP generic segmentation
	// offload cuts apart, about a quarter of the kernel's cost per
	// datagram, at the price of padding the shorter packets of a train
	// with a ChunkPadding chunk (at most to twice their size; counted in
	// DestinationStats.PadBytes). A kernel that refuses a train turns
	// them off for that socket, with a log line.
	DisableUDPGSO bool
	// TLSCAFile is a PEM file of CAs that verify a transport=tls collector
	// (hep.tls_ca); empty means the system roots.
	TLSCAFile string
	// TLSConfig, when set, is used for transport=tls instead of one built
	// from TLSCAFile (client certificates, pinned server names).
	TLSConfig *tls.Config
	// BackoffMin and BackoffMax bound the wait between TCP/TLS connect
	// attempts, which doubles after each failure. Zero means 100 ms and 30 s.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// DialTimeout bounds a connect. Zero means 3 s.
	DialTimeout time.Duration
	// BatchDelay is how long a sender waits for more packets after the
	// first of a batch, so that one send call (sendmmsg, or one TCP write)
	// carries many packets under load. Zero means 1 ms; negative means no
	// wait (one call per packet when traffic is light).
	BatchDelay time.Duration
	// WriteTimeout bounds one write to a TCP/TLS collector; a write that
	// times out drops its packets and reconnects. Zero means 5 s.
	WriteTimeout time.Duration
	// RecoverAfter is how long a TCP/TLS connection opened while its
	// destination is down must live, with no write failing, before the
	// destination is up again (and its recovery logged): a collector that
	// accepts connections and drops them at once stays down, with one log
	// line for the whole outage. After a write that timed out (a collector
	// that stopped reading), the connection must take writes for
	// WriteTimeout at least. Zero means 1 s.
	RecoverAfter time.Duration
	// UDPProbeInterval is, while a UDP destination is down (the collector
	// refused datagrams: ICMP port unreachable), how often each worker
	// sends one packet to learn whether the collector is back; the other
	// packets are dropped (not_connected) rather than sent into a refusal.
	// Zero means 1 s.
	UDPProbeInterval time.Duration
	// UDPRefusalWait is how long a probe must go unrefused for its UDP
	// destination to be up again: an ICMP refusal comes back within a
	// round trip. Zero means 200 ms.
	UDPRefusalWait time.Duration
	// OpenReplaysPerConn bounds how many of a connection's Call-IDs get its
	// open event repeated (FormatHomer). A phone's connection carries a few
	// calls, and each call's view shows how its connection began; a trunk
	// carries thousands, for which the repeat would be one more packet per
	// call (a sixth more HEP traffic for a proxy hop) telling the same old
	// story: past the bound, its calls are still correlated with its CLOSED
	// event (the transport's Options.CallIDsPerConn). Zero means 16.
	OpenReplaysPerConn int
	// Logger receives one line when a destination goes down and one when it
	// is back. Nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) captureID() uint32 {
	if c.CaptureID == 0 {
		return DefaultCaptureID
	}
	return c.CaptureID
}

// udpWorkers resolves UDPWorkers.
func (c *Config) udpWorkers() int {
	if c.UDPWorkers > 0 {
		return c.UDPWorkers
	}
	return min(MaxDefaultUDPWorkers, runtime.GOMAXPROCS(0))
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLSConfig != nil {
		return c.TLSConfig, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(c.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("%w: tls_ca: %w", ErrConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: tls_ca %s: no PEM certificate in it", ErrConfig, c.TLSCAFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func (c *Config) senderOptions() (senderOptions, error) {
	o := senderOptions{
		queueLen:     orInt(c.QueueSize, DefaultQueueSize),
		queueBytes:   int64(orInt(c.QueueBytes, DefaultQueueBytes)),
		udpWorkers:   c.udpWorkers(),
		backoffMin:   orDuration(c.BackoffMin, DefaultBackoffMin),
		backoffMax:   orDuration(c.BackoffMax, DefaultBackoffMax),
		dialTimeout:  orDuration(c.DialTimeout, DefaultDialTimeout),
		writeTimeout: orDuration(c.WriteTimeout, DefaultWriteTimeout),
		recoverAfter: orDuration(c.RecoverAfter, DefaultRecoverAfter),
		probeEvery:   orDuration(c.UDPProbeInterval, DefaultUDPProbeInterval),
		refusalWait:  orDuration(c.UDPRefusalWait, DefaultUDPRefusalWait),
		batchDelay:   c.BatchDelay,
		noUDPGSO:     c.DisableUDPGSO,
		logger:       c.logger(),
	}
	if o.batchDelay == 0 {
		o.batchDelay = DefaultBatchDelay
	}
	if o.udpWorkers > MaxUDPWorkers {
		return o, fmt.Errorf("%w: udp_workers %d above %d", ErrConfig, o.udpWorkers, MaxUDPWorkers)
	}
	if o.backoffMax < o.backoffMin {
		return o, fmt.Errorf("%w: backoff max %v below min %v", ErrConfig, o.backoffMax, o.backoffMin)
	}
	// A connection that lived this long was a real one: losing it resets
	// the backoff.
	o.stableAfter = 2 * o.backoffMax
	for _, d := range c.Destinations {
		if d.Transport == TLS {
			cfg, err := c.tlsConfig()
			if err != nil {
				return o, err
			}
			o.tlsConfig = cfg
			break
		}
	}
	return o, nil
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
