package web

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultEventRingSize      = 10000
	DefaultReadTimeout        = 10 * time.Second
	DefaultReadHeaderTimeout  = 5 * time.Second
	DefaultWriteTimeout       = 30 * time.Second
	DefaultIdleTimeout        = 120 * time.Second
	DefaultMaxHeaderBytes     = 16 << 10
	DefaultMaxBodyBytes       = 64 << 10
	DefaultMaxEventStreams    = 64
	DefaultStreamWriteTimeout = 10 * time.Second
)

// EnvToken is the environment variable whose value, when set, overrides
// Config.Token (see ResolveToken).
const EnvToken = "SIPWIRE_WEB_TOKEN"

// Config configures the Server. The zero value of every field means its
// documented default.
type Config struct {
	// Listen is the TCP address to serve on, host:port. Empty means
	// 127.0.0.1:8080. A non-loopback host needs Token.
	Listen string

	// Token is the bearer token (Authorization: Bearer TOKEN) that every
	// route requires but /healthz, /metrics, GET /api/v1/trace, the OpenAPI
	// document and the dashboard's files; the event stream also takes a
	// ticket of POST /events/ticket. Empty means none is required, which is
	// allowed on loopback addresses only. See ResolveToken for the
	// environment override.
	Token string

	// AllowedHosts are Host header values accepted besides localhost, the
	// loopback addresses and the listen host (on a wildcard listen, 0.0.0.0
	// or ::, the addresses of the machine): a name ("sipwire.example")
	// accepts any port, "name:port" only that port. Any other Host is
	// refused (DNS rebinding).
	AllowedHosts []string

	// AllowedOrigins are Origin header values ("https://ops.example:8443")
	// accepted besides the page's own origin (http:// and the request's
	// Host) and the listen address's, compared as scheme, host and port. A
	// request without an Origin header (curl, scripts) is not refused for
	// it; a state change still needs a JSON body, StateChangeHeader or the
	// bearer header, which no cross-site form or no-cors fetch can send.
	AllowedOrigins []string

	// EventRingSize bounds the in-memory ring of recent events that
	// GET /events and the event stream serve. Zero means 10000.
	EventRingSize int

	// ReadTimeout, ReadHeaderTimeout, WriteTimeout and IdleTimeout bound the
	// HTTP server as in net/http. Zero means 10 s, 5 s, 30 s and 120 s. The
	// event stream lifts the write timeout of its own response.
	ReadTimeout       time.Duration
	ReadHeaderTimeout time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// MaxHeaderBytes bounds the request header. Zero means 16 KiB.
	MaxHeaderBytes int

	// MaxBodyBytes bounds a request body. Zero means 64 KiB.
	MaxBodyBytes int64

	// MaxEventStreams bounds the open event streams (GET /events/stream);
	// one more is refused with a 503 and counted. Zero means 64.
	MaxEventStreams int

	// StreamWriteTimeout bounds each write of an event stream: a client
	// that stops reading is dropped when one write has not gone out within
	// it, and counted. Zero means 10 s.
	StreamWriteTimeout time.Duration
}

// ResolveToken returns the token to use: the value of SIPWIRE_WEB_TOKEN when
// it is set and not empty, else configured.
func ResolveToken(configured string) string {
	if v := os.Getenv(EnvToken); v != "" {
		return v
	}
	return configured
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *Config) listen() string              { return orDefault(c.Listen, DefaultListen) }
func (c *Config) eventRingSize() int          { return orDefault(c.EventRingSize, DefaultEventRingSize) }
func (c *Config) readTimeout() time.Duration  { return orDefault(c.ReadTimeout, DefaultReadTimeout) }
func (c *Config) writeTimeout() time.Duration { return orDefault(c.WriteTimeout, DefaultWriteTimeout) }
func (c *Config) idleTimeout() time.Duration  { return orDefault(c.IdleTimeout, DefaultIdleTimeout) }
func (c *Config) maxHeaderBytes() int         { return orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes) }
func (c *Config) maxBodyBytes() int64         { return orDefault(c.MaxBodyBytes, DefaultMaxBodyBytes) }
func (c *Config) maxEventStreams() int        { return orDefault(c.MaxEventStreams, DefaultMaxEventStreams) }
func (c *Config) streamWriteTimeout() time.Duration {
	return orDefault(c.StreamWriteTimeout, DefaultStreamWriteTimeout)
}
func (c *Config) readHeaderTimeout() time.Duration {
	return orDefault(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
}

// validate checks the config and returns the listen host.
func (c *Config) validate() (string, error) {
	host, _, err := net.SplitHostPort(c.listen())
	if err != nil {
		return "", fmt.Errorf("%w: listen %q: %w", ErrConfig, c.listen(), err)
	}
	if c.EventRingSize < 0 || c.MaxHeaderBytes < 0 || c.MaxBodyBytes < 0 || c.MaxEventStreams < 0 || c.StreamWriteTimeout < 0 {
		return "", fmt.Errorf("%w: negative size", ErrConfig)
	}
	for _, o := range c.AllowedOrigins {
		if normOrigin(strings.TrimRight(o, "/")) == "" {
			return "", fmt.Errorf("%w: allowed origin %q is not scheme://host[:port]", ErrConfig, o)
		}
	}
	if c.Token == "" && !isLoopbackHost(host) {
		return "", fmt.Errorf("%w (listen %s; set web.token or %s)", ErrTokenRequired, c.listen(), EnvToken)
	}
	return host, nil
}

// isLoopbackHost reports whether host names only loopback addresses:
// "localhost", 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// isWildcardHost reports whether host is empty, 0.0.0.0 or ::.
func isWildcardHost(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}
