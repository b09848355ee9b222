package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// socketAddr is a listener read from a socket spec.
type socketAddr struct {
	Addr netip.Addr
	Port int // -1 when the spec names none (tcp_port applies)
}

// otherProtos are OpenSIPS socket protocols that sipwire does not serve.
var otherProtos = map[string]bool{
	"udp": true, "tls": true, "sctp": true, "ws": true, "wss": true, "bin": true, "bins": true,
	"hep_udp": true, "hep_tcp": true, "hep_tls": true, "smpp": true, "msrp": true, "msrps": true,
	"ipsec": true,
}

// errNotTCP says that a socket spec names another protocol than tcp.
var errNotTCP = errors.New("only tcp sockets are served (sipwire is a SIP-over-TCP transport)")

// ParseSocket reads a socket spec "tcp:IP[:port]" (IPv6 in brackets, as in
// "tcp:[::1]:5070"). Host and interface names are refused: they are not
// resolved.
func parseSocket(spec string) (socketAddr, error) {
	proto, rest, ok := strings.Cut(spec, ":")
	switch {
	case !ok:
		return socketAddr{}, errors.New(`must be "tcp:IP[:port]"`)
	case otherProtos[strings.ToLower(proto)]:
		return socketAddr{}, errNotTCP
	case !strings.EqualFold(proto, "tcp"):
		return socketAddr{}, errors.New(`must be "tcp:IP[:port]"`)
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return socketAddr{}, errors.New(`an IPv6 address needs its closing "]"`)
		}
		host, port = rest[1:end], rest[end+1:]
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return socketAddr{}, errors.New(`must be "tcp:[IPv6]:port"`)
			}
			port = p
		}
	} else if strings.Count(rest, ":") > 1 {
		return socketAddr{}, errors.New(`an IPv6 address needs brackets, as in "tcp:[::1]:5060"`)
	} else if h, p, ok := strings.Cut(rest, ":"); ok {
		host, port = h, p
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return socketAddr{}, fmt.Errorf("%q is not an IP address (host and interface names are not resolved)", host)
	}
	s := socketAddr{Addr: addr, Port: -1}
	if port != "" || strings.HasSuffix(rest, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return socketAddr{}, fmt.Errorf("port %q must be between 0 and 65535", port)
		}
		s.Port = n
	}
	return s, nil
}

func checkSocket(spec string) string {
	return errText(func(s string) error { _, err := parseSocket(s); return err })(spec)
}

// splitHepID splits a proto_hep hep_id "[name] host[:port]; transport=...;
// version=..." into its name and the rest, trimmed. Only the name and a
// non-empty destination are checked here; the hep package parses the rest
// (report its errors with Config.KeyError("hep_id[i]", err)).
func splitHepID(s string) (name, dest string, err error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") {
		return "", "", errors.New(`must start with "[name]"`)
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", "", errors.New(`has no "]" after its name`)
	}
	name = strings.TrimSpace(t[1:end])
	if name == "" {
		return "", "", errors.New(`has an empty name in "[]"`)
	}
	if strings.ContainsAny(name, " \t[") {
		return "", "", fmt.Errorf("name %q has a space or a %q", name, "[")
	}
	dest = strings.TrimSpace(t[end+1:])
	if host, _, _ := strings.Cut(dest, ";"); strings.TrimSpace(host) == "" {
		return "", "", errors.New(`names no destination after "[name]"`)
	}
	return name, dest, nil
}

func checkHepID(s string) string {
	_, _, err := splitHepID(s)
	if err != nil {
		return err.Error()
	}
	return ""
}

// validRouteName reports whether a route name is made of letters, digits
// and "_.:-".
func validRouteName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !isWordRune(r) && !strings.ContainsRune(".:-", r) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func checkRouteName(name string) string {
	if !validRouteName(name) {
		return `a route name is made of letters, digits and "_.:-"`
	}
	return ""
}

// CheckForwardURI checks an upstream URI for forward.uri (or the -forward
// flag): empty, or a sip: URI whose host is an IP address or a DNS name,
// with an optional port and no transport parameter other than tcp.
func CheckForwardURI(uri string) error {
	if uri == "" {
		return nil
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	switch {
	case !ok:
		return fmt.Errorf("%q is not a sip: URI", uri)
	case strings.EqualFold(scheme, "sips"):
		return fmt.Errorf("%q: sips needs TLS, and sipwire forwards over TCP: use a sip: URI", uri)
	case !strings.EqualFold(scheme, "sip"):
		return fmt.Errorf("%q is not a sip: URI", uri)
	}
	if strings.ContainsRune(rest, '?') {
		return fmt.Errorf("%q: URI headers (\"?...\") are not allowed", uri)
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	if err := checkHostPort(hostport); err != nil {
		return fmt.Errorf("%q: %w", uri, err)
	}
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "transport") && !strings.EqualFold(strings.TrimSpace(v), "tcp") {
			return fmt.Errorf("%q: transport must be tcp, got %q", uri, v)
		}
	}
	return nil
}

// checkHostPort checks a SIP URI's "host[:port]" (IPv6 in brackets).
func checkHostPort(hp string) error {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return errors.New(`an IPv6 address needs its closing "]"`)
		}
		host, port = hp[1:end], hp[end+1:]
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q is not an IPv6 address", host)
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return errors.New(`a port follows "]" after a ":"`)
			}
			port = p
		}
	} else {
		if h, p, ok := strings.Cut(hp, ":"); ok {
			host, port = h, p
		}
		if !validHostName(host) {
			return fmt.Errorf("host %q is neither an IP address nor a DNS name", host)
		}
	}
	if port != "" || strings.HasSuffix(hp, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q must be between 1 and 65535", port)
		}
	}
	return nil
}

// validHostName reports whether h is an IPv4 address or a DNS name.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func checkListen(s string) string {
	if s == "off" {
		return ""
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil && strings.ContainsAny(host, " \t/") {
		err = errors.New("bad host")
	}
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fmt.Sprintf(`must be "host:port" or "off", got %q`, s)
	}
	return ""
}

func checkHost(s string) string {
	if s == "" || strings.ContainsAny(s, " \t/@") {
		return "must be a host name or host:port"
	}
	return ""
}

func checkOrigin(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return `must be "http://host[:port]" or "https://host[:port]"`
	}
	return ""
}

func checkEndpoint(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Sprintf(`must be "host:port" or an http(s) URL, got %q`, s)
		}
		return ""
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return fmt.Sprintf(`must be "host:port" or an http(s) URL, got %q`, s)
	}
	return ""
}

// checkHeaderName accepts an HTTP field name (RFC 9110 token).
func checkHeaderName(s string) string {
	if s == "" {
		return "not a valid HTTP header name"
	}
	for _, r := range s {
		if !isWordRune(r) && !strings.ContainsRune("!#$%&'*+-.^`|~", r) {
			return "not a valid HTTP header name"
		}
	}
	return ""
}

// checkOptionTag accepts a SIP option-tag: a token (RFC 3261 §25.1).
func checkOptionTag(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.!%*_+`'~", r))
	}) >= 0 {
		return "must be a SIP option-tag (a token: letters, digits and -.!%*_+`'~)"
	}
	return ""
}
