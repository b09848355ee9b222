package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// StateChangeHeader is the header that marks a state-changing request as
// sent by a script of an allowed origin (the dashboard, the CLI) rather than
// by a form or a "simple" cross-site fetch, which cannot set it. A request
// that changes state needs it, a JSON body (Content-Type: application/json)
// or the bearer token in Authorization; any value will do.
const StateChangeHeader = "X-Sipwire"

// StreamTicketTTL is how long a ticket of POST /events/ticket opens the
// event stream (?ticket=) when a token is set: EventSource cannot send the
// Authorization header, and a ticket in a URL that reaches a log is useless
// this long after.
const StreamTicketTTL = 60 * time.Second

// interfaceRefresh bounds how often the machine's interface addresses are
// read again when a Host names an address not known yet (wildcard listen).
const interfaceRefresh = 5 * time.Second

// How a request was authorised, as the log of a state change says.
const (
	authToken    = "token"
	authNoToken  = "loopback-no-token"
	authTicket   = "ticket"
	authKey      = "sipwire.auth"
	ticketDomain = "sipwire event stream ticket\x00"
)

// Reasons the guard refuses a request, as counted in WebStats.Refused.
const (
	refusedHost = iota
	refusedOrigin
	refusedSimple
	refusedToken
	numRefusals
)

// guard holds the allow-lists, the token and the counts of refusals.
type guard struct {
	wildcard bool
	hosts    map[string]bool // lower-case host or host:port
	origins  map[string]bool // normalized scheme://host:port
	token    []byte
	// ticketKey signs stream tickets; it is random per process, so that a
	// ticket says nothing of the token and dies with the process.
	ticketKey []byte
	// listenOrigin is the origin of the bound listen address
	// (http://host:port), set by Serve; empty for a wildcard listen.
	listenOrigin atomic.Pointer[string]
	machine      *machineAddrs
	log          *slog.Logger
	refused      [numRefusals]atomic.Uint64
}

func newGuard(cfg *Config, listenHost string, log *slog.Logger) *guard {
	g := &guard{
		wildcard:  isWildcardHost(listenHost),
		hosts:     map[string]bool{"localhost": true},
		origins:   map[string]bool{},
		token:     []byte(cfg.Token),
		ticketKey: make([]byte, 32),
		log:       log,
	}
	rand.Read(g.ticketKey) // never fails (crypto/rand)
	if g.wildcard {
		g.machine = &machineAddrs{list: net.InterfaceAddrs}
	} else {
		g.hosts[strings.ToLower(strings.Trim(listenHost, "[]"))] = true
	}
	for _, h := range cfg.AllowedHosts {
		g.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
		g.hosts[strings.ToLower(h)] = true
	}
	for _, o := range cfg.AllowedOrigins {
		if n := normOrigin(strings.TrimRight(o, "/")); n != "" {
			g.origins[n] = true
		}
	}
	return g
}

// setListenAddr records the bound address: its origin is allowed.
func (g *guard) setListenAddr(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil || ap.Addr().IsUnspecified() {
		return
	}
	o := "http://" + net.JoinHostPort(ap.Addr().Unmap().WithZone("").String(), strconv.Itoa(int(ap.Port())))
	g.listenOrigin.Store(&o)
}

// hostAllowed reports whether a Host header value is allowed: localhost or
// a loopback address, an allowed host, the listen host, or on a wildcard
// listen an address of the machine (the one the request came in on, or one
// of its interfaces). A name that is not listed never is: that is what
// stops DNS rebinding.
func (g *guard) hostAllowed(hostport string, local net.Addr) bool {
	hp := strings.ToLower(hostport)
	if g.hosts[hp] {
		return true
	}
	host, _ := splitHost(hp)
	if g.hosts[host] || isLoopbackHost(host) {
		return true
	}
	if !g.wildcard {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	if la, ok := local.(*net.TCPAddr); ok {
		if l, ok := netip.AddrFromSlice(la.IP); ok && l.Unmap() == a {
			return true
		}
	}
	return g.machine.has(a)
}

// originAllowed reports whether an Origin header value is allowed, compared
// as scheme, host and port: the page's own origin (the request's Host, on
// the http the server serves), the listen address's, or one of
// AllowedOrigins.
func (g *guard) originAllowed(origin, host string) bool {
	o := normOrigin(origin)
	if o == "" {
		return false
	}
	if g.origins[o] {
		return true
	}
	if h, port := splitHost(strings.ToLower(host)); h != "" && o == "http://"+net.JoinHostPort(h, orDefault(port, "80")) {
		return true
	}
	lo := g.listenOrigin.Load()
	return lo != nil && o == *lo
}

// normOrigin returns an http(s) origin as "scheme://host:port", lower case,
// with the scheme's port when it names none; "" for anything else ("null",
// a path, user info).
func normOrigin(origin string) string {
	u, err := url.Parse(strings.ToLower(origin))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port)
}

// splitHost splits a Host value into host (without brackets) and port ("").
func splitHost(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.Trim(hostport, "[]"), ""
}

// isSafeMethod reports whether a method never changes state here.
func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// nonSimple reports whether r is one that no cross-site page can send
// without a CORS preflight (which the server never grants): it carries
// StateChangeHeader, a JSON content type or a bearer Authorization header.
// A form post or a no-cors fetch can carry none of them.
func nonSimple(r *http.Request) bool {
	if r.Header.Get(StateChangeHeader) != "" {
		return true
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		return true
	}
	_, ok := bearerToken(r)
	return ok
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(auth[len(prefix):]), true
}

// refuse counts and answers a refusal.
func (g *guard) refuse(c *gin.Context, why int, err error) {
	g.refused[why].Add(1)
	g.log.Debug("web request refused", "remote", c.Request.RemoteAddr, "method", c.Request.Method,
		"path", c.Request.URL.Path, "err", err)
	writeError(c, err)
}

// checkRequest is the middleware of every request: Host and Origin against
// the allow-lists (DNS rebinding, cross-site requests), and a state change
// only through a request that a cross-site page cannot send.
func (g *guard) checkRequest(c *gin.Context) {
	r := c.Request
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !g.hostAllowed(r.Host, local) {
		g.refuse(c, refusedHost, errorf(http.StatusForbidden, "host %q is not allowed (add it to web.allowed_hosts)", r.Host))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin, r.Host) {
		g.refuse(c, refusedOrigin, errorf(http.StatusForbidden, "origin %q is not allowed (add it to web.allowed_origins)", origin))
		return
	}
	if !isSafeMethod(r.Method) && !nonSimple(r) {
		g.refuse(c, refusedSimple, errorf(http.StatusForbidden,
			"a %s needs Content-Type: application/json, the header %s: 1 or Authorization: Bearer TOKEN (cross-site protection)",
			r.Method, StateChangeHeader))
		return
	}
	c.Next()
}

// requireToken is the middleware of every route that changes state or
// reveals traffic or configuration: the bearer token, when one is set.
func (g *guard) requireToken(c *gin.Context) { g.authorize(c, false) }

// requireTokenOrTicket is requireToken that also takes a stream ticket in
// ?ticket= (for EventSource, which cannot send headers).
func (g *guard) requireTokenOrTicket(c *gin.Context) { g.authorize(c, true) }

func (g *guard) authorize(c *gin.Context, ticket bool) {
	if len(g.token) == 0 {
		c.Set(authKey, authNoToken)
		c.Next()
		return
	}
	if ticket && c.Query("ticket") != "" {
		if !g.ticketValid(c.Query("ticket"), time.Now()) {
			g.refuse(c, refusedToken, errorf(http.StatusUnauthorized, "invalid or expired ticket (POST /api/v1/events/ticket gives one)"))
			return
		}
		c.Set(authKey, authTicket)
		c.Next()
		return
	}
	tok, ok := bearerToken(c.Request)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="sipwire"`)
		g.refuse(c, refusedToken, errorf(http.StatusUnauthorized, "this route needs the bearer token (Authorization: Bearer TOKEN)"))
		return
	}
	if subtle.ConstantTimeCompare([]byte(tok), g.token) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="sipwire", error="invalid_token"`)
		g.refuse(c, refusedToken, errorf(http.StatusUnauthorized, "invalid token"))
		return
	}
	c.Set(authKey, authToken)
	c.Next()
}

// newTicket returns a stream ticket valid until now+StreamTicketTTL:
// "EXPIRY.MAC", EXPIRY in Unix seconds.
func (g *guard) newTicket(now time.Time) string {
	exp := strconv.FormatInt(now.Add(StreamTicketTTL).Unix(), 10)
	return exp + "." + g.ticketMAC(exp)
}

func (g *guard) ticketMAC(exp string) string {
	m := hmac.New(sha256.New, g.ticketKey)
	m.Write([]byte(ticketDomain + exp))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ticketValid reports whether t is a ticket of this process that has not
// expired at now.
func (g *guard) ticketValid(t string, now time.Time) bool {
	exp, mac, ok := strings.Cut(t, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > n || n > now.Add(StreamTicketTTL).Unix() {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(g.ticketMAC(exp)))
}

// refusals returns the counts of refused requests.
func (g *guard) refusals() GuardRefusals {
	return GuardRefusals{
		Host:   g.refused[refusedHost].Load(),
		Origin: g.refused[refusedOrigin].Load(),
		Simple: g.refused[refusedSimple].Load(),
		Token:  g.refused[refusedToken].Load(),
	}
}

// GuardRefusals count the requests the guard refused, by reason.
type GuardRefusals struct {
	// Host: a Host that is not allowed (DNS rebinding).
	Host uint64 `json:"host"`
	// Origin: an Origin that is not allowed (a cross-site page).
	Origin uint64 `json:"origin"`
	// Simple: a state change a cross-site page could have sent (no JSON
	// body, no X-Sipwire, no bearer header).
	Simple uint64 `json:"simple"`
	// Token: the token (or stream ticket) missing or wrong.
	Token uint64 `json:"token"`
}

// caller describes the author of a request for the log of a state change:
// its address and how it was authorised.
func caller(c *gin.Context) []any {
	return []any{"remote", c.Request.RemoteAddr, "auth", c.GetString(authKey)}
}

// postStreamTicket is POST /events/ticket: a ticket for ?ticket= of the
// event stream.
func (s *Server) postStreamTicket(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"ticket": s.guard.newTicket(time.Now()), "expires_in_s": int(StreamTicketTTL / time.Second)})
	return nil
}

// machineAddrs are the machine's interface addresses, read again on a miss
// at most every interfaceRefresh.
type machineAddrs struct {
	list func() ([]net.Addr, error)

	mu      sync.Mutex
	addrs   map[netip.Addr]bool
	checked time.Time
}

func (m *machineAddrs) has(a netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.addrs[a] {
		return true
	}
	if !m.checked.IsZero() && time.Since(m.checked) < interfaceRefresh {
		return false
	}
	m.checked = time.Now()
	m.addrs = map[netip.Addr]bool{}
	list, err := m.list()
	if err != nil {
		return false
	}
	for _, na := range list {
		if p, err := netip.ParsePrefix(na.String()); err == nil {
			m.addrs[p.Addr().Unmap().WithZone("")] = true
		}
	}
	return m.addrs[a]
}
