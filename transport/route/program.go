package route

import "github.com/sipwire/sipwire/transport"

// Program is a parsed text of route blocks.
type Program struct {
	routes map[string]*Route
	names  []string
}

// Route is one compiled route. It is immutable and safe for concurrent use.
type Route struct {
	name string
	body blockStmt
}

// Parse parses a text of one or more route[name] { ... } blocks (and
// comments). Two blocks of the same name are an error. Errors are
// *SyntaxError (errors.Is(err, ErrSyntax)).
func Parse(src string) (*Program, error) {
	prog := &Program{routes: make(map[string]*Route)}
	if err := run(src, 0, func(p *parser) { p.program(prog) }); err != nil {
		return nil, err
	}
	return prog, nil
}

// ParseBody parses the statements of one route, without the
// route[name] { } around them, for a configuration that gives the body of
// the route named name as text. lineOffset is added to the line of every
// error: pass the number of the configuration line just before the body's
// first line. Errors are *SyntaxError (errors.Is(err, ErrSyntax)).
func ParseBody(name, body string, lineOffset int) (*Route, error) {
	r := &Route{name: name}
	if err := run(body, lineOffset, func(p *parser) { r.body = p.statements(tEOF) }); err != nil {
		return nil, err
	}
	return r, nil
}

// Route returns the route named name.
func (p *Program) Route(name string) (*Route, bool) {
	r, ok := p.routes[name]
	return r, ok
}

// Names returns the names of the routes, in the order of the text.
func (p *Program) Names() []string {
	return append([]string(nil), p.names...)
}

// Name returns the route's name.
func (r *Route) Name() string { return r.name }

// Trace runs the route for a connection that opens and reports whether the
// connection is traced: false only when a drop executes. It allocates
// nothing; it fits transport.Transport.SetTraceFilter as r.Trace.
func (r *Route) Trace(info transport.ConnInfo) bool {
	return r.body.exec(newEnv(info)) != actDrop
}
