package route

// orExpr parses a || b || ...
func (p *parser) orExpr() cond {
	c := p.andExpr()
	for p.tok.kind == tOr {
		p.next()
		c = &orCond{l: c, r: p.andExpr()}
	}
	return c
}

// andExpr parses a && b && ...
func (p *parser) andExpr() cond {
	c := p.unary()
	for p.tok.kind == tAnd {
		p.next()
		c = &andCond{l: c, r: p.unary()}
	}
	return c
}

// unary parses !x, (expr) or a comparison. As in OpenSIPS, ! applies to a
// whole comparison: !$si == "1.1.1.1" is !($si == "1.1.1.1").
func (p *parser) unary() cond {
	p.enter()
	defer p.leave()
	switch p.tok.kind {
	case tNot:
		p.next()
		return &notCond{x: p.unary()}
	case tLParen:
		p.next()
		c := p.orExpr()
		p.expect(tRParen)
		return c
	}
	return p.comparison()
}

// comparison parses operand [op operand].
func (p *parser) comparison() cond {
	l := p.operand()
	if !p.tok.isComparison() {
		return truth(l)
	}
	op := p.tok
	p.next()
	r := p.operand()
	return compare(l, op, r)
}

// operand parses a variable or a literal.
func (p *parser) operand() operand {
	t := p.tok
	switch t.kind {
	case tVar:
		p.next()
		return variable(t)
	case tString:
		p.next()
		return operand{kind: opString, str: t.text, tok: t}
	case tInt:
		p.next()
		return operand{kind: opInt, num: t.num, tok: t}
	case tIdent:
		p.next()
		if p.tok.kind == tLParen {
			failAt(t, "unknown function "+quote(t.text))
		}
		failAt(t, "unexpected "+t.describe()+" in a condition")
	}
	failAt(t, "expected a variable or a literal, found "+t.describe())
	return operand{}
}
