package route

import (
	"net/netip"
	"regexp"
	"strconv"
)

// opKind is the kind of an operand of a comparison.
type opKind uint8

const (
	opAddr opKind = iota
	opPort
	opString
	opInt
)

// operand is one side of a comparison.
type operand struct {
	kind opKind
	side side   // opAddr, opPort
	str  string // opString
	num  int64  // opInt
	tok  token  // where it is, for errors
}

func (o operand) isVar() bool { return o.kind == opAddr || o.kind == opPort }

func quote(s string) string { return strconv.Quote(s) }

// variable resolves a variable token to an operand.
func variable(t token) operand {
	o := operand{tok: t}
	switch t.text {
	case "si", "sp":
		if t.hasParam {
			failAt(t, "$"+t.text+" takes no parameter")
		}
		o.kind, o.side = opAddr, sidePeer
		if t.text == "sp" {
			o.kind = opPort
		}
	case "socket_in":
		o.side = sideSocket
		switch {
		case !t.hasParam:
			failAt(t, "$socket_in needs a field: $socket_in(ip) or $socket_in(port)")
		case t.param == "ip":
			o.kind = opAddr
		case t.param == "port":
			o.kind = opPort
		default:
			failAt(t, "unsupported field "+quote(t.param)+" of $socket_in (ip and port are)")
		}
	default:
		failAt(t, "unknown variable "+t.describe())
	}
	return o
}

// truth is the condition of an operand used alone.
func truth(o operand) cond {
	switch o.kind {
	case opAddr:
		return &addrSet{s: o.side}
	case opPort:
		return &portSet{s: o.side}
	case opString:
		return constCond(o.str != "")
	}
	return constCond(o.num != 0)
}

// flipped returns the operator for swapped operands.
func flipped(op tokKind) tokKind {
	switch op {
	case tLt:
		return tGt
	case tGt:
		return tLt
	case tLe:
		return tGe
	case tGe:
		return tLe
	}
	return op
}

// compare compiles l op r.
func compare(l operand, op token, r operand) cond {
	if op.kind == tMatch || op.kind == tNoMatch {
		return match(l, op, r)
	}
	if !l.isVar() && r.isVar() {
		l, r = r, l
		op.kind = flipped(op.kind)
	}
	ordered := op.kind != tEq && op.kind != tNe
	switch l.kind {
	case opAddr:
		if ordered {
			failAt(op, tokNames[op.kind]+" compares numbers; "+l.tok.describe()+" is an address")
		}
		return addrCompare(l, op, r)
	case opPort:
		return &portCmp{s: l.side, other: r.kind == opPort, lit: portOperand(r, ordered), op: op.kind}
	}
	return compareConst(l, op, r)
}

// addrCompare compiles an address variable == or != r.
func addrCompare(l operand, op token, r operand) cond {
	c := &addrEq{s: l.side, negate: op.kind == tNe}
	switch r.kind {
	case opAddr:
		c.other = r.side != l.side
		if !c.other {
			return constCond(!c.negate)
		}
	case opString:
		if r.str != "" {
			a, err := netip.ParseAddr(r.str)
			if err != nil {
				failAt(r.tok, quote(r.str)+" is not an IP address, so "+l.tok.describe()+" never equals it")
			}
			c.lit = a.Unmap()
		}
	default:
		failAt(r.tok, "cannot compare the address "+l.tok.describe()+" with "+r.tok.describe())
	}
	return c
}

// portOperand returns the number a port is compared with; a variable gives 0
// (the caller reads it at run time).
func portOperand(r operand, ordered bool) int64 {
	switch r.kind {
	case opPort:
		return 0
	case opAddr:
		failAt(r.tok, "cannot compare a port with the address "+r.tok.describe())
	}
	n := r.num
	if r.kind == opString {
		v, err := strconv.ParseInt(r.str, 10, 64)
		if err != nil || strconv.FormatInt(v, 10) != r.str {
			failAt(r.tok, quote(r.str)+" is not a port number, so a port never equals it")
		}
		n = v
	}
	if !ordered && (n < 0 || n > 65535) {
		failAt(r.tok, strconv.FormatInt(n, 10)+" is not a port number (0-65535)")
	}
	return n
}

// compareConst folds a comparison of two literals, as OpenSIPS compares
// them: numbers as numbers, anything else as text.
func compareConst(l operand, op token, r operand) cond {
	if l.kind == opInt && r.kind == opInt {
		return constCond(compareInts(l.num, op.kind, r.num))
	}
	a, b := literalText(l), literalText(r)
	switch op.kind {
	case tEq:
		return constCond(a == b)
	case tNe:
		return constCond(a != b)
	}
	failAt(op, tokNames[op.kind]+" compares numbers")
	return nil
}

// literalText is a literal as text.
func literalText(o operand) string {
	if o.kind == opInt {
		return strconv.FormatInt(o.num, 10)
	}
	return o.str
}

// match compiles l =~ r or l !~ r; r must be a string (the pattern),
// compiled case-insensitively as OpenSIPS does.
func match(l operand, op token, r operand) cond {
	if r.kind != opString {
		failAt(r.tok, "the right side of "+tokNames[op.kind]+" must be a string (the pattern)")
	}
	re, err := regexp.Compile("(?i)" + r.str)
	if err != nil {
		failAt(r.tok, "bad regular expression "+quote(r.str)+": "+err.Error())
	}
	negate := op.kind == tNoMatch
	switch l.kind {
	case opAddr, opPort:
		return newRegexCond(l.side, l.kind == opPort, re, negate)
	}
	return constCond(re.MatchString(literalText(l)) != negate)
}
