package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// OpenSIPS' parameters that sipwire takes over, by module.
var (
	// protoTCPParams are proto_tcp's 13 parameters; each is the sipwire key
	// of the same name.
	protoTCPParams = []string{
		"tcp_port", "tcp_send_timeout", "tcp_max_msg_chunks", "tcp_crlf_pingpong", "tcp_crlf_drop",
		"tcp_async", "tcp_async_max_postponed_chunks", "tcp_async_local_connect_timeout",
		"tcp_async_local_write_timeout", "tcp_parallel_handling", "trace_destination", "trace_on",
		"trace_filter_route",
	}
	// coreTCPParams are the core parameters kept, same names.
	coreTCPParams = []string{"tcp_max_connections", "tcp_connection_lifetime", "tcp_max_msg_time",
		"tcp_keepalive", "tcp_keepcount", "tcp_keepidle", "tcp_keepinterval"}
	// protoHEPSkipped are proto_hep parameters of its own TCP sender and HEP
	// listeners, which sipwire's sender replaces.
	protoHEPSkipped = []string{
		"hep_port", "hep_send_timeout", "hep_max_msg_chunks", "hep_async", "hep_async_max_postponed_chunks",
		"hep_async_local_connect_timeout", "hep_async_local_write_timeout", "hep_retry_cooldown",
		"hep_max_retries",
	}
	// routeKinds are the OpenSIPS route blocks; only route[name] is kept.
	routeKinds = []string{
		"route", "onreply_route", "failure_route", "branch_route", "local_route", "error_route",
		"startup_route", "timer_route", "event_route",
	}
)

// ParseOpenSIPS imports the lines of an OpenSIPS configuration that sipwire
// can honour:
//
//   - socket= and listen= lines with tcp sockets (other protocols are
//     skipped, and are an error when no tcp socket is left);
//   - modparam("proto_tcp", ...) for all 13 proto_tcp parameters;
//   - modparam("proto_hep", ...) for hep_id, hep_capture_id and homer5_on
//     (homer5_on selects the text or json payload of hep.format opensips,
//     which only a config that sets hep.format: opensips uses);
//   - the core parameters tcp_max_connections, tcp_connection_lifetime,
//     tcp_keepalive, tcp_keepcount, tcp_keepidle, tcp_keepinterval and
//     tcp_max_msg_time;
//   - route[name] { ... } blocks reached from trace_filter_route;
//   - loadmodule "proto_tcp.so"/"proto_hep.so" and mpath= (accepted,
//     nothing to do).
//
// Everything else is skipped with a warning naming its line (see
// Warnings). OpenSIPS' semantics apply: trace_on is 0 and there is no trace
// destination unless the file sets them, 0|1 switches take any non-zero
// number as 1, a hep_id without transport= gets OpenSIPS' default (tcp, or
// udp for HEP versions 1 and 2). HEP events use sipwire's default format,
// homer, as for every config: OpenSIPS' own encoding (proto type 0x59),
// which Homer files in its catch-all table and never shows with a call, is
// there for whoever sets hep.format: opensips. sipwire's own sections keep
// their defaults.
func ParseOpenSIPS(data []byte, name string) (*Config, error) {
	c := Default()
	c.src = newSource(name)
	c.TraceOn = false
	c.TraceDestination = ""
	c.TraceFilterRoute = ""
	c.HepID = nil
	c.Route = nil
	c.Socket = nil
	c.HEP.OpenSIPSPayload = "text"

	im := &importer{c: c, p: &problems{file: name}, failed: map[string]bool{}, set: map[string]int{},
		fields: fieldMap(c.fields()), routes: map[string]cfgRoute{}}
	if at := firstInvalidUTF8(data); at >= 0 {
		im.p.add(1+bytes.Count(data[:at], []byte("\n")), "", ErrSyntax, "not valid UTF-8")
		return nil, im.p.err()
	}
	im.read(newCfgScanner(string(data)))
	im.finish()
	c.validate(im.p, im.failed)
	slices.SortStableFunc(im.warnings, func(a, b cfgWarning) int { return cmp.Compare(a.line, b.line) })
	for _, w := range im.warnings {
		loc := name
		if w.line > 0 {
			loc += ":" + strconv.Itoa(w.line)
		}
		c.src.warnings = append(c.src.warnings, loc+": "+w.text)
	}
	if err := im.p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// firstInvalidUTF8 returns the offset of the first byte that is not valid
// UTF-8, or -1.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// importer holds the state of one OpenSIPS import.
type importer struct {
	c        *Config
	p        *problems
	failed   map[string]bool  // keys whose value could not be set
	set      map[string]int   // key -> line of the modparam that set it
	fields   map[string]field // the keys of c
	warnings []cfgWarning
	sockets  []cfgSocket // every socket line, tcp or not
	routes   map[string]cfgRoute
}

type cfgWarning struct {
	line int
	text string
}

type cfgSocket struct {
	line int
	spec string
	tcp  bool
}

type cfgRoute struct {
	line     int // of the route keyword
	bodyLine int // of "{"
	body     string
}

// cfgArg is a modparam argument: a quoted string or a bare token.
type cfgArg struct {
	text   string
	quoted bool
}

func (a cfgArg) String() string {
	if a.quoted {
		return strconv.Quote(a.text)
	}
	return a.text
}

func (im *importer) warn(line int, format string, args ...any) {
	im.warnings = append(im.warnings, cfgWarning{line: line, text: fmt.Sprintf(format, args...)})
}

// read goes through the statements of the file.
func (im *importer) read(s *cfgScanner) {
	for {
		if err := s.skipSpace(); err != nil {
			im.scanProblem(s, err)
			return
		}
		if s.eof() {
			return
		}
		line := s.line
		if c := s.peek(); c == ';' {
			s.advance(1)
			continue
		}
		w := s.word()
		if w == "" {
			text, err := s.skipStatement()
			im.p.add(line, "", ErrSyntax, fmt.Sprintf("%s: not an OpenSIPS statement", snippet(text)))
			if err != nil {
				im.scanProblem(s, err)
				return
			}
			continue
		}
		var err error
		switch {
		case w == "modparam":
			err = im.modparam(s, line)
		case w == "loadmodule", w == "include_file", w == "import_file":
			err = im.fileStatement(s, w, line)
		case slices.Contains(routeKinds, w):
			err = im.route(s, w, line)
		default:
			s.skipBlanks()
			if s.peek() == '=' {
				s.advance(1)
				err = im.assignment(s, w, line)
				break
			}
			var text string
			text, err = s.skipStatement()
			im.warn(line, "%s: not a sipwire setting, skipped", snippet(w+" "+text))
		}
		if err != nil {
			im.scanProblem(s, err)
			return
		}
	}
}

// scanProblem reports a scanner error at the line where the unfinished
// thing starts.
func (im *importer) scanProblem(s *cfgScanner, err error) {
	line := s.line
	var se *scanError
	if errors.As(err, &se) {
		line = se.line
	}
	im.p.add(line, "", ErrSyntax, err.Error())
}

// snippet shortens a statement for a message.
func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}

// endStatement skips an optional ";" on the rest of the line.
func endStatement(s *cfgScanner) {
	s.skipBlanks()
	if s.peek() == ';' {
		s.advance(1)
	}
}

// fileStatement reads loadmodule, include_file or import_file "name".
func (im *importer) fileStatement(s *cfgScanner, w string, line int) error {
	if err := s.skipSpace(); err != nil {
		return err
	}
	var arg string
	if q := s.peek(); q == '"' || q == '\'' {
		v, err := s.quoted()
		if err != nil {
			return err
		}
		arg = v
	} else {
		arg = s.token()
	}
	endStatement(s)
	stmt := fmt.Sprintf("%s %q", w, arg)
	if w != "loadmodule" {
		im.warn(line, "%s: not followed, skipped (import its lines into this file)", stmt)
		return nil
	}
	switch strings.TrimSuffix(path.Base(arg), ".so") {
	case "proto_tcp", "proto_hep":
	default:
		im.warn(line, "%s: not a sipwire module, skipped", stmt)
	}
	return nil
}

// modparam reads modparam("module", "param", value).
func (im *importer) modparam(s *cfgScanner, line int) error {
	if err := s.skipSpace(); err != nil {
		return err
	}
	if s.peek() != '(' {
		text, err := s.skipStatement()
		im.p.add(line, "", ErrSyntax, fmt.Sprintf("modparam %s: expected \"(\"", snippet(text)))
		return err
	}
	s.advance(1)
	var args []cfgArg
	for {
		if err := s.skipSpace(); err != nil {
			return err
		}
		switch c := s.peek(); {
		case c == ')':
			s.advance(1)
			endStatement(s)
			return im.applyModparam(line, args)
		case c == ',' && len(args) > 0:
			s.advance(1)
			continue
		case c == '"' || c == '\'':
			v, err := s.quoted()
			if err != nil {
				return err
			}
			args = append(args, cfgArg{text: v, quoted: true})
		default:
			t := s.token()
			if t == "" || s.eof() {
				text, err := s.skipStatement()
				im.p.add(line, "", ErrSyntax, fmt.Sprintf("modparam: unexpected %s", strconv.Quote(snippet(string(c)+text))))
				return err
			}
			args = append(args, cfgArg{text: t})
		}
	}
}

// applyModparam takes over one modparam.
func (im *importer) applyModparam(line int, args []cfgArg) error {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	stmt := "modparam(" + strings.Join(parts, ", ") + ")"
	if len(args) != 3 {
		im.p.add(line, "", ErrSyntax, fmt.Sprintf("%s: a modparam has 3 arguments, got %d", snippet(stmt), len(args)))
		return nil
	}
	module, param, value := args[0].text, args[1].text, args[2]
	switch module {
	case "proto_tcp":
		if !slices.Contains(protoTCPParams, param) {
			im.p.add(line, "", ErrUnknownKey, fmt.Sprintf("%s: proto_tcp has no parameter %q", snippet(stmt), param))
			return nil
		}
		im.setKey(line, stmt, param, value)
	case "proto_hep":
		im.hepParam(line, stmt, param, value)
	default:
		im.warn(line, "%s: not a sipwire module, skipped", snippet(stmt))
	}
	return nil
}

// hepParam takes over one proto_hep parameter.
func (im *importer) hepParam(line int, stmt, param string, value cfgArg) {
	c := im.c
	switch {
	case param == "hep_id":
		pos := fmt.Sprintf("hep_id[%d]", len(c.HepID))
		c.src.lines[pos] = line
		if _, ok := c.src.lines["hep_id"]; !ok {
			c.src.lines["hep_id"] = line
		}
		c.HepID = append(c.HepID, hepIDWithTransport(value.text))
	case param == "hep_capture_id":
		im.setKey(line, stmt, "hep_capture_id", value)
	case param == "homer5_on":
		n, ok := cfgInt(value)
		if !ok {
			im.failed["hep.opensips_payload"] = true
			im.p.add(line, "homer5_on", ErrType, fmt.Sprintf("must be an integer, got %s", value))
			return
		}
		c.src.lines["hep.opensips_payload"] = line
		c.HEP.OpenSIPSPayload = "json"
		if n != 0 {
			c.HEP.OpenSIPSPayload = "text"
		}
	case param == "homer5_delim":
		if value.text != ":" {
			im.warn(line, "%s: sipwire's text payload always uses \":\", skipped", snippet(stmt))
		}
	case slices.Contains(protoHEPSkipped, param):
		im.warn(line, "%s: sipwire's HEP sender has its own queue and reconnects, skipped", snippet(stmt))
	default:
		im.p.add(line, "", ErrUnknownKey, fmt.Sprintf("%s: proto_hep has no parameter %q", snippet(stmt), param))
	}
}

// hepIDWithTransport makes OpenSIPS' default transport explicit in a hep_id
// that names none: tcp, or udp for HEP versions 1 and 2.
func hepIDWithTransport(id string) string {
	_, dest, err := splitHepID(id)
	if err != nil {
		return id // reported by the check of hep_id
	}
	version := "3"
	for p := range strings.SplitSeq(dest, ";") {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "transport":
			return id
		case "version":
			version = strings.TrimSpace(v)
		}
	}
	if version == "1" || version == "2" {
		return id + "; transport=udp"
	}
	return id + "; transport=tcp"
}

// cfgInt reads an integer argument, bare or quoted.
func cfgInt(a cfgArg) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(a.text), 0, 64)
	return n, err == nil
}

// setKey sets a sipwire key of the same name as an OpenSIPS parameter,
// with OpenSIPS' reading of the value.
func (im *importer) setKey(line int, stmt, key string, value cfgArg) {
	f := im.fields[key]
	if prev, ok := im.set[key]; ok {
		im.warn(line, "%s: overrides line %d", snippet(stmt), prev)
	}
	im.set[key] = line
	im.c.src.lines[key] = line
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value.text, Line: line}
	if v, ok := cfgInt(value); ok {
		n.Tag, n.Value = "!!int", strconv.FormatInt(v, 10)
		switch {
		case f.kind == kindFlag && v != 0:
			n.Value = "1" // OpenSIPS: any non-zero number switches it on
		case key == "tcp_async_max_postponed_chunks" && v < 2:
			im.warn(line, "%s: raised to 2, OpenSIPS' minimum", snippet(stmt))
			n.Value = "2"
		}
	}
	if n.Tag == "!!int" && f.kind == kindString {
		n.Tag = "!!str"
	}
	delete(im.failed, key)
	for _, is := range f.decode(n, func(string, int) {}) {
		im.failed[key] = true
		im.p.add(line, key, is.sentinel, is.msg)
	}
}

// assignment reads "name = value" (core parameters).
func (im *importer) assignment(s *cfgScanner, name string, line int) error {
	raw, err := s.restOfLine()
	if err != nil {
		return err
	}
	raw = strings.TrimSpace(strings.TrimSuffix(raw, ";"))
	stmt := name + "=" + raw
	value := raw
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	switch {
	case name == "socket" || name == "listen":
		im.socket(line, stmt, value)
	case slices.Contains(coreTCPParams, name):
		im.setKey(line, stmt, name, cfgArg{text: value})
	case name == "mpath":
	default:
		im.warn(line, "%s: not a sipwire setting, skipped", snippet(stmt))
	}
	return nil
}

// socket takes over a socket= or listen= line.
func (im *importer) socket(line int, stmt, value string) {
	fields := strings.Fields(value)
	if len(fields) == 0 {
		im.p.add(line, "socket", ErrValue, "empty socket")
		return
	}
	spec := fields[0]
	proto, _, _ := strings.Cut(spec, ":")
	tcp := strings.EqualFold(proto, "tcp")
	im.sockets = append(im.sockets, cfgSocket{line: line, spec: spec, tcp: tcp})
	if !tcp {
		return
	}
	if len(fields) > 1 {
		im.warn(line, "%s: %q ignored (sipwire advertises the socket's own address)", snippet(stmt), strings.Join(fields[1:], " "))
	}
	pos := fmt.Sprintf("socket[%d]", len(im.c.Socket))
	im.c.src.lines[pos] = line
	if _, ok := im.c.src.lines["socket"]; !ok {
		im.c.src.lines["socket"] = line
	}
	im.c.Socket = append(im.c.Socket, spec)
}

// route reads a route block; route[name] is kept for finish.
func (im *importer) route(s *cfgScanner, kind string, line int) error {
	if err := s.skipSpace(); err != nil {
		return err
	}
	name := ""
	if s.peek() == '[' {
		end := strings.IndexAny(s.src[s.pos:], "]\n")
		if end < 0 || s.src[s.pos+end] != ']' {
			text, err := s.skipStatement()
			im.p.add(line, "", ErrSyntax, fmt.Sprintf("%s%s: expected \"]\"", kind, snippet(text)))
			return err
		}
		name = strings.Trim(strings.TrimSpace(s.src[s.pos+1:s.pos+end]), `"'`)
		s.advance(end + 1)
		if err := s.skipSpace(); err != nil {
			return err
		}
	}
	label := kind
	if name != "" {
		label += "[" + name + "]"
	}
	if s.peek() != '{' {
		text, err := s.skipStatement()
		im.p.add(line, "", ErrSyntax, fmt.Sprintf("%s: expected \"{\", got %q", label, snippet(text)))
		return err
	}
	body, bodyLine, err := s.block()
	if err != nil {
		return err
	}
	switch {
	case kind == "route" && name == "":
		im.warn(line, "route: the main request route is OpenSIPS' SIP logic (sipwire forwards statelessly, see forward.uri), skipped")
	case kind != "route":
		im.warn(line, "%s: not a sipwire setting, skipped", label)
	default:
		if prev, dup := im.routes[name]; dup {
			im.p.add(line, "route", ErrValue, fmt.Sprintf("route[%s] is defined twice (first at line %d)", name, prev.line))
			return nil
		}
		im.routes[name] = cfgRoute{line: line, bodyLine: bodyLine, body: body}
	}
	return nil
}

var routeCall = regexp.MustCompile(`\broute\s*\(\s*["']?([A-Za-z0-9_.:-]+)["']?\s*\)`)

// finish decides what the whole file allows: the sockets, and the routes
// reached from trace_filter_route.
func (im *importer) finish() {
	c := im.c
	if len(c.Socket) == 0 {
		if len(im.sockets) > 0 {
			first := im.sockets[0]
			im.failed["socket"] = true
			im.p.add(first.line, "socket", ErrUnsupported,
				fmt.Sprintf("%q: sipwire serves SIP over tcp only, and this file has no tcp socket", first.spec))
		} else {
			c.Socket = []string{"tcp:127.0.0.1"}
			im.warn(0, "no socket= line: listening on tcp:127.0.0.1 and tcp_port (OpenSIPS would listen on every interface)")
		}
	}
	for _, s := range im.sockets {
		if !s.tcp && len(c.Socket) > 0 {
			im.warn(s.line, "socket=%s: sipwire serves SIP over tcp only, skipped", s.spec)
		}
	}

	keep := map[string]bool{}
	todo := []string{}
	if c.TraceFilterRoute != "" {
		todo = append(todo, c.TraceFilterRoute)
	}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		r, ok := im.routes[name]
		if !ok || keep[name] {
			continue
		}
		keep[name] = true
		for _, m := range routeCall.FindAllStringSubmatch(r.body, -1) {
			todo = append(todo, m[1])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(im.routes)) {
		r := im.routes[name]
		if !keep[name] {
			im.warn(r.line, "route[%s]: not reached from trace_filter_route, skipped", name)
			continue
		}
		if c.Route == nil {
			c.Route = map[string]string{}
			c.src.lines["route"] = r.line
		}
		c.Route[name] = r.body
		c.src.lines["route."+name] = r.line
		c.src.routeLines[name] = r.bodyLine
	}
}
