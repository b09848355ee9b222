package hep

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is proto_hep's port for a hep_id that names none.
const DefaultPort = 9060

// Transport is how packets reach a destination.
type Transport uint8

// The transports of a hep_id. TCP is OpenSIPS' default for HEPv3.
const (
	TCP Transport = iota
	UDP
	TLS
)

// String returns "tcp", "udp" or "tls".
func (t Transport) String() string {
	switch t {
	case UDP:
		return "udp"
	case TLS:
		return "tls"
	}
	return "tcp"
}

// Destination is one parsed hep_id: a named collector address.
type Destination struct {
	// Name is the hep_id name that trace_destination refers to.
	Name      string
	Host      string
	Port      int
	Transport Transport
	// Version is the HEP version; only 3 is supported.
	Version int
}

// Address returns "host:port" (brackets around an IPv6 host).
func (d Destination) Address() string {
	return net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
}

// String returns the destination in hep_id syntax, with every default
// spelled out.
func (d Destination) String() string {
	return "[" + d.Name + "] " + d.Address() + "; transport=" + d.Transport.String() + "; version=" + strconv.Itoa(d.Version)
}

// SyntaxError says where a hep_id string is wrong. It wraps
// ErrBadDestination.
type SyntaxError struct {
	Input string
	// Column is the 1-based byte position of the problem.
	Column int
	Msg    string
}

// Error returns `hep: bad hep_id "...": column N: msg`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%v %q: column %d: %s", ErrBadDestination, e.Input, e.Column, e.Msg)
}

// Unwrap returns ErrBadDestination.
func (e *SyntaxError) Unwrap() error { return ErrBadDestination }

// ParseDestination parses OpenSIPS' proto_hep hep_id syntax:
//
//	[name] host[:port]; transport=udp|tcp|tls; version=3
//
// The name is required. The host is an IPv4 address, an IPv6 address in
// brackets, or a host name. Defaults are OpenSIPS': port 9060, transport
// TCP, version 3. Keys and transport names are case-insensitive; spaces
// around ';' and '=' are ignored. Versions 1 and 2, unknown keys, repeated
// keys and malformed parts are errors (*SyntaxError) that give the column.
func ParseDestination(s string) (Destination, error) {
	p := hepIDParser{in: s}
	return p.parse()
}

// ParseDestinations parses several hep_id strings; names must be unique.
func ParseDestinations(specs []string) ([]Destination, error) {
	ds := make([]Destination, 0, len(specs))
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		d, err := ParseDestination(s)
		if err != nil {
			return nil, err
		}
		if seen[d.Name] {
			return nil, &SyntaxError{Input: s, Column: strings.IndexByte(s, '[') + 2, Msg: fmt.Sprintf("name %q is used by another hep_id", d.Name)}
		}
		seen[d.Name] = true
		ds = append(ds, d)
	}
	return ds, nil
}

// FindDestination returns the destination called name.
func FindDestination(ds []Destination, name string) (Destination, bool) {
	for _, d := range ds {
		if d.Name == name {
			return d, true
		}
	}
	return Destination{}, false
}

type hepIDParser struct {
	in  string
	pos int
}

func (p *hepIDParser) fail(pos int, format string, args ...any) error {
	return &SyntaxError{Input: p.in, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *hepIDParser) skipSpace() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

func (p *hepIDParser) parse() (Destination, error) {
	d := Destination{Port: DefaultPort, Transport: TCP, Version: 3}
	p.skipSpace()
	if p.pos >= len(p.in) || p.in[p.pos] != '[' {
		return d, p.fail(p.pos, "expected \"[name]\"")
	}
	end := strings.IndexByte(p.in[p.pos:], ']')
	if end < 0 {
		return d, p.fail(p.pos, "missing ']' after the name")
	}
	d.Name = p.in[p.pos+1 : p.pos+end]
	if d.Name == "" {
		return d, p.fail(p.pos+1, "empty name")
	}
	for i := 0; i < len(d.Name); i++ {
		if !isNameChar(d.Name[i]) {
			return d, p.fail(p.pos+1+i, "character %q not allowed in a name", d.Name[i])
		}
	}
	p.pos += end + 1
	p.skipSpace()
	if err := p.parseHostPort(&d); err != nil {
		return d, err
	}
	seen := map[string]bool{}
	for p.pos < len(p.in) {
		// p.in[p.pos] is ';'.
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] == ';' {
			continue
		}
		if err := p.parseParam(&d, seen); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (p *hepIDParser) parseHostPort(d *Destination) error {
	start := p.pos
	end := strings.IndexByte(p.in[start:], ';')
	if end < 0 {
		end = len(p.in)
	} else {
		end += start
	}
	hp := strings.TrimRight(p.in[start:end], " \t")
	p.pos = end
	if hp == "" {
		return p.fail(start, "expected host[:port]")
	}
	host, portStr, portAt := hp, "", -1
	if hp[0] == '[' {
		rb := strings.IndexByte(hp, ']')
		if rb < 0 {
			return p.fail(start, "missing ']' after the IPv6 address")
		}
		host = hp[1:rb]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return p.fail(start+1, "bad IPv6 address %q", host)
		}
		rest := hp[rb+1:]
		switch {
		case rest == "":
		case rest[0] == ':':
			portStr, portAt = rest[1:], start+rb+2
		default:
			return p.fail(start+rb+1, "expected ':' or ';' after the IPv6 address")
		}
	} else {
		if i := strings.LastIndexByte(hp, ':'); i >= 0 {
			if strings.IndexByte(hp[:i], ':') >= 0 {
				return p.fail(start, "an IPv6 address needs brackets: [%s]", hp)
			}
			host, portStr, portAt = hp[:i], hp[i+1:], start+i+1
		}
		if host == "" {
			return p.fail(start, "empty host")
		}
		for i := 0; i < len(host); i++ {
			if !isHostChar(host[i]) {
				return p.fail(start+i, "character %q not allowed in a host", host[i])
			}
		}
	}
	d.Host = host
	if portAt >= 0 {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 || portStr[0] == '+' {
			return p.fail(portAt, "bad port %q", portStr)
		}
		d.Port = n
	}
	return nil
}

func (p *hepIDParser) parseParam(d *Destination, seen map[string]bool) error {
	start := p.pos
	end := strings.IndexByte(p.in[start:], ';')
	if end < 0 {
		end = len(p.in)
	} else {
		end += start
	}
	p.pos = end
	kv := strings.TrimRight(p.in[start:end], " \t")
	eq := strings.IndexByte(kv, '=')
	if eq < 0 {
		return p.fail(start, "expected key=value, got %q", kv)
	}
	key := strings.ToLower(strings.TrimRight(kv[:eq], " \t"))
	valAt := start + eq + 1
	for valAt < end && (p.in[valAt] == ' ' || p.in[valAt] == '\t') {
		valAt++
	}
	val := strings.TrimLeft(kv[eq+1:], " \t")
	if seen[key] {
		return p.fail(start, "%s given twice", key)
	}
	seen[key] = true
	switch key {
	case "transport":
		switch strings.ToLower(val) {
		case "tcp":
			d.Transport = TCP
		case "udp":
			d.Transport = UDP
		case "tls":
			d.Transport = TLS
		default:
			return p.fail(valAt, "transport %q: want udp, tcp or tls", val)
		}
	case "version":
		switch val {
		case "3":
			d.Version = 3
		case "1", "2":
			return p.fail(valAt, "HEP version %s is not supported: only version 3", val)
		default:
			return p.fail(valAt, "bad version %q: want 3", val)
		}
	default:
		return p.fail(start, "unknown key %q: want transport or version", key)
	}
	return nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
}
