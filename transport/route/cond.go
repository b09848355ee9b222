package route

import (
	"net/netip"
	"regexp"
	"strconv"
	"sync"
)

// cond is a compiled condition.
type cond interface {
	eval(e env) bool
}

// constCond is a condition known at parse time.
type constCond bool

func (c constCond) eval(env) bool { return bool(c) }

// notCond is !x.
type notCond struct{ x cond }

func (c *notCond) eval(e env) bool { return !c.x.eval(e) }

// andCond is l && r, evaluated left to right with short circuit.
type andCond struct{ l, r cond }

func (c *andCond) eval(e env) bool { return c.l.eval(e) && c.r.eval(e) }

// orCond is l || r, evaluated left to right with short circuit.
type orCond struct{ l, r cond }

func (c *orCond) eval(e env) bool { return c.l.eval(e) || c.r.eval(e) }

// addrSet is $si or $socket_in(ip) alone: the address is known.
type addrSet struct{ s side }

func (c *addrSet) eval(e env) bool { return c.s.addr(e).IsValid() }

// portSet is $sp or $socket_in(port) alone: the port is not zero.
type portSet struct{ s side }

func (c *portSet) eval(e env) bool { return c.s.port(e) != 0 }

// addrEq compares an address variable with a literal address (parsed and
// unmapped at parse time; the zero Addr for "") or, when other is set, with
// the other side's address.
type addrEq struct {
	s      side
	other  bool
	lit    netip.Addr
	negate bool
}

func (c *addrEq) eval(e env) bool {
	want := c.lit
	if c.other {
		want = (c.s ^ 1).addr(e)
	}
	return (c.s.addr(e) == want) != c.negate
}

// portCmp compares a port variable with an integer literal or, when other is
// set, with the other side's port.
type portCmp struct {
	s     side
	other bool
	lit   int64
	op    tokKind
}

func (c *portCmp) eval(e env) bool {
	want := c.lit
	if c.other {
		want = int64((c.s ^ 1).port(e))
	}
	return compareInts(int64(c.s.port(e)), c.op, want)
}

// compareInts applies the comparison operator op.
func compareInts(a int64, op tokKind, b int64) bool {
	switch op {
	case tEq:
		return a == b
	case tNe:
		return a != b
	case tLt:
		return a < b
	case tGt:
		return a > b
	case tLe:
		return a <= b
	case tGe:
		return a >= b
	}
	return false
}

// regexBufSize holds any IPv6 address with a short zone, or a port.
const regexBufSize = 64

// regexCond matches a variable's text form against a regular expression.
// The text is rendered into a pooled buffer so that matching allocates
// nothing.
type regexCond struct {
	s      side
	port   bool
	re     *regexp.Regexp
	negate bool
	bufs   sync.Pool
}

func newRegexCond(s side, port bool, re *regexp.Regexp, negate bool) *regexCond {
	c := &regexCond{s: s, port: port, re: re, negate: negate}
	c.bufs.New = func() any { return new([regexBufSize]byte) }
	return c
}

func (c *regexCond) eval(e env) bool {
	buf := c.bufs.Get().(*[regexBufSize]byte)
	text := buf[:0]
	switch {
	case c.port:
		text = strconv.AppendUint(text, uint64(c.s.port(e)), 10)
	case c.s.addr(e).IsValid():
		text = c.s.addr(e).AppendTo(text)
	}
	matched := c.re.Match(text)
	c.bufs.Put(buf)
	return matched != c.negate
}
