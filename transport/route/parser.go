package route

import (
	"fmt"
	"strconv"
)

// maxDepth bounds the nesting of blocks, parentheses and '!' so that hostile
// input cannot exhaust the stack.
const maxDepth = 100

// bailout carries a syntax error out of the recursive descent.
type bailout struct{ err *SyntaxError }

// fail stops parsing with a syntax error at line, col.
func fail(line, col int, msg string) {
	panic(bailout{&SyntaxError{Line: line, Col: col, Msg: msg}})
}

// parser is a recursive-descent parser over a lexer with one token of
// look-ahead.
type parser struct {
	lx    *lexer
	tok   token
	depth int
}

// run calls parse and turns a bailout into a *SyntaxError whose line is
// shifted by lineOffset. Any other panic is a bug and goes on.
func run(src string, lineOffset int, parse func(p *parser)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			b.err.Line += lineOffset
			err = b.err
		}
	}()
	p := &parser{lx: newLexer(src)}
	p.next()
	parse(p)
	return nil
}

func (p *parser) next() { p.tok = p.lx.next() }

// failAt stops parsing with msg at token t.
func failAt(t token, msg string) {
	fail(t.line, t.col, msg)
}

// expect consumes a token of kind k or fails with "expected <k>".
func (p *parser) expect(k tokKind) token {
	t := p.tok
	if t.kind != k {
		failAt(t, "expected "+tokNames[k])
	}
	p.next()
	return t
}

// enter and leave track nesting depth.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		failAt(p.tok, fmt.Sprintf("nesting deeper than %d", maxDepth))
	}
}

func (p *parser) leave() { p.depth-- }

// program parses route[name] { ... } blocks until the end of the text.
func (p *parser) program(prog *Program) {
	for p.tok.kind != tEOF {
		t := p.tok
		if t.kind != tIdent || t.text != "route" {
			if t.kind == tIdent {
				failAt(t, "only route[name] blocks are supported, found "+strconv.Quote(t.text))
			}
			failAt(t, "expected route[name], found "+t.describe())
		}
		p.next()
		if p.tok.kind != tLBrack {
			failAt(p.tok, "expected '[' and a route name")
		}
		name, line, col := p.lx.rawName()
		if name == "" {
			fail(line, col, "expected a route name")
		}
		p.next()
		p.expect(tRBrack)
		p.expect(tLBrace)
		body := p.statements(tRBrace)
		p.expect(tRBrace)
		if _, dup := prog.routes[name]; dup {
			failAt(t, "route["+name+"] is defined twice")
		}
		prog.routes[name] = &Route{name: name, body: body}
		prog.names = append(prog.names, name)
	}
}

// statements parses statements until a token of kind end (not consumed).
func (p *parser) statements(end tokKind) blockStmt {
	var list blockStmt
	for p.tok.kind != end {
		if p.tok.kind == tEOF {
			failAt(p.tok, "expected "+tokNames[end])
		}
		if s := p.statement(); s != nil {
			list = append(list, s)
		}
	}
	return list
}

// statement parses one statement; the empty statement gives nil.
func (p *parser) statement() stmt {
	t := p.tok
	switch t.kind {
	case tSemi:
		p.next()
		return nil
	case tLBrace:
		p.enter()
		p.next()
		b := p.statements(tRBrace)
		p.next()
		p.leave()
		return b
	case tIdent:
	case tVar:
		failAt(t, "unexpected "+t.describe()+" (assignments are not supported)")
	default:
		failAt(t, "expected a statement, found "+t.describe())
	}
	switch t.text {
	case "if":
		return p.ifStatement()
	case "else":
		failAt(t, "else without if")
	case "exit":
		return p.action(actExit)
	case "drop":
		return p.action(actDrop)
	case "return":
		return p.returnStatement()
	}
	p.next()
	if p.tok.kind == tLParen {
		failAt(t, "unknown function "+strconv.Quote(t.text))
	}
	failAt(t, "unknown statement "+strconv.Quote(t.text))
	return nil
}

// ifStatement parses if (cond) stmt [else stmt].
func (p *parser) ifStatement() stmt {
	p.enter()
	defer p.leave()
	p.next()
	p.expect(tLParen)
	c := p.orExpr()
	p.expect(tRParen)
	s := &ifStmt{c: c, then: p.branch()}
	if p.tok.kind == tIdent && p.tok.text == "else" {
		p.next()
		s.els = p.branch()
	}
	return s
}

// branch parses the statement of an if or else; an empty one does nothing.
func (p *parser) branch() stmt {
	if s := p.statement(); s != nil {
		return s
	}
	return blockStmt(nil)
}

// action parses exit or drop, with optional empty parentheses, and ';'.
func (p *parser) action(a action) stmt {
	p.next()
	if p.tok.kind == tLParen {
		p.next()
		p.expect(tRParen)
	}
	p.expect(tSemi)
	return actionStmt(a)
}

// returnStatement parses return, return(N) or return N, and ';'.
func (p *parser) returnStatement() stmt {
	p.next()
	switch p.tok.kind {
	case tLParen:
		p.next()
		p.expect(tInt)
		p.expect(tRParen)
	case tInt:
		p.next()
	}
	p.expect(tSemi)
	return actionStmt(actExit)
}
