package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// guard holds the allow-lists and the token.
type guard struct {
	anyHost  bool
	hosts    map[string]bool // lower-case host or host:port
	origins  map[string]bool // lower-case scheme://host[:port]
	token    []byte
	loopback bool
}

func newGuard(cfg *Config, listenHost string) *guard {
	g := &guard{
		hosts:    map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true},
		origins:  map[string]bool{},
		token:    []byte(cfg.Token),
		loopback: isLoopbackHost(listenHost),
	}
	if isWildcardHost(listenHost) {
		g.anyHost = len(cfg.AllowedHosts) == 0
	} else {
		g.hosts[strings.ToLower(listenHost)] = true
	}
	for _, h := range cfg.AllowedHosts {
		g.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
		g.hosts[strings.ToLower(h)] = true
	}
	for _, o := range cfg.AllowedOrigins {
		g.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return g
}

// hostAllowed reports whether a Host header value is on the allow-list.
func (g *guard) hostAllowed(hostport string) bool {
	if g.anyHost {
		return true
	}
	hp := strings.ToLower(hostport)
	if g.hosts[hp] {
		return true
	}
	host := hp
	if h, _, err := net.SplitHostPort(hp); err == nil {
		host = h
	}
	return g.hosts[strings.Trim(host, "[]")]
}

// originAllowed reports whether an Origin header value is allowed: one of
// AllowedOrigins, or an http(s) origin whose host is an allowed host.
func (g *guard) originAllowed(origin string) bool {
	o := strings.ToLower(origin)
	if g.origins[o] {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
		return false
	}
	return !g.anyHost && g.hostAllowed(u.Host)
}

// checkRequest is the middleware of every request: Host and Origin against
// the allow-lists (DNS rebinding, cross-site requests).
func (g *guard) checkRequest(c *gin.Context) {
	if !g.hostAllowed(c.Request.Host) {
		writeError(c, errorf(http.StatusForbidden, "host %q is not allowed (add it to web.allowed_hosts)", c.Request.Host))
		return
	}
	if origin := c.GetHeader("Origin"); origin != "" && !g.originAllowed(origin) {
		writeError(c, errorf(http.StatusForbidden, "origin %q is not allowed (add it to web.allowed_origins)", origin))
		return
	}
	c.Next()
}

// requireToken is the middleware of every state-changing route: the bearer
// token, when one is set.
func (g *guard) requireToken(c *gin.Context) {
	if len(g.token) == 0 {
		c.Next()
		return
	}
	auth := c.GetHeader("Authorization")
	const prefix = "bearer "
	if len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		c.Header("WWW-Authenticate", `Bearer realm="sipwire"`)
		writeError(c, errorf(http.StatusUnauthorized, "this route needs the bearer token (Authorization: Bearer TOKEN)"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[len(prefix):])), g.token) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="sipwire", error="invalid_token"`)
		writeError(c, errorf(http.StatusUnauthorized, "invalid token"))
		return
	}
	c.Next()
}
