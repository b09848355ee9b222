package route

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src, want string
	}{
		{"route[f] {\n  if ($si == \"1.1.1.1\"\n    exit;\n}", `route: line 3, column 5: expected ')'`},
		{"route[f] {\n\tif ($si == \"1.1.1.1\" exit;\n}", `route: line 2, column 23: expected ')'`},
		{"route[f] { exit }", `route: line 1, column 17: expected ';'`},
		{"route[f] { drop; ", `route: line 1, column 18: expected '}'`},
		{"route[f] {\n  t_relay();\n}", `route: line 2, column 3: unknown function "t_relay"`},
		{"route[f] {\n  forward;\n}", `route: line 2, column 3: unknown statement "forward"`},
		{"route[f] { if ($ru == \"x\") drop; }", `route: line 1, column 16: unknown variable $ru`},
		{"route[f] { if ($var(x) == 1) drop; }", `route: line 1, column 16: unknown variable $var(x)`},
		{"route[f] { if ($socket_in(proto) == \"tcp\") drop; }", `route: line 1, column 16: unsupported field "proto" of $socket_in (ip and port are)`},
		{"route[f] { if ($socket_in == 1) drop; }", `route: line 1, column 16: $socket_in needs a field: $socket_in(ip) or $socket_in(port)`},
		{"route[f] { if ($si(x) == 1) drop; }", `route: line 1, column 16: $si takes no parameter`},
		{"route[f] { if (is_method(\"INVITE\")) drop; }", `route: line 1, column 16: unknown function "is_method"`},
		{"route[f] { if ($si = \"1.1.1.1\") drop; }", `route: line 1, column 20: assignment '=' is not supported (compare with '==')`},
		{"route[f] { if ($sp == 1 & $sp == 2) drop; }", `route: line 1, column 25: bitwise '&' is not supported (use '&&')`},
		{"route[f] { if ($si == 1.1.1.1) drop; }", `route: line 1, column 23: unquoted address 1.1.1.1 (write it as a string: "1.1.1.1")`},
		{"route[f] { if ($si == \"example.com\") drop; }", `route: line 1, column 23: "example.com" is not an IP address, so $si never equals it`},
		{"route[f] { if ($si == 5060) drop; }", `route: line 1, column 23: cannot compare the address $si with integer 5060`},
		{"route[f] { if ($si < \"1.1.1.1\") drop; }", `route: line 1, column 20: '<' compares numbers; $si is an address`},
		{"route[f] { if ($sp == \"08000\") drop; }", `route: line 1, column 23: "08000" is not a port number, so a port never equals it`},
		{"route[f] { if ($sp == 70000) drop; }", `route: line 1, column 23: 70000 is not a port number (0-65535)`},
		{"route[f] { if ($sp == $si) drop; }", `route: line 1, column 23: cannot compare a port with the address $si`},
		{"route[f] { if ($si =~ \"(\") drop; }", "route: line 1, column 23: bad regular expression \"(\": error parsing regexp: missing closing ): `(?i)(`"},
		{"route[f] { if ($si =~ $sp) drop; }", `route: line 1, column 23: the right side of '=~' must be a string (the pattern)`},
		{"route[f] { if (\"a\" < \"b\") drop; }", `route: line 1, column 20: '<' compares numbers`},
		{"route[f] { if ($si == \"1.1.1.1) drop; }", `route: line 1, column 23: unterminated string`},
		{"route[f] { /* drop; }", `route: line 1, column 12: unterminated comment`},
		{"route[f] { if $si == \"1.1.1.1\" drop; }", `route: line 1, column 15: expected '('`},
		{"route[f] { if () drop; }", `route: line 1, column 16: expected a variable or a literal, found ')'`},
		{"route[f] { if ($si ==) drop; }", `route: line 1, column 22: expected a variable or a literal, found ')'`},
		{"route[f] { if ($si == \"1.1.1.1\" $sp) drop; }", `route: line 1, column 33: expected ')'`},
		{"route[f] { else drop; }", `route: line 1, column 12: else without if`},
		{"route[f] { $var(x) = 1; }", `route: line 1, column 12: unexpected $var(x) (assignments are not supported)`},
		{"route[f] { return(x); }", `route: line 1, column 19: expected integer`},
		{"route[f] { if ($sp == 99999999999999999999) drop; }", `route: line 1, column 23: bad integer "99999999999999999999"`},
		{"route[f] { if ($sp == 5 @ 1) drop; }", `route: line 1, column 25: unexpected character '@'`},
		{"route[f] { if (x) drop; }", `route: line 1, column 16: unexpected "x" in a condition`},
		{"route[f] { if ($) drop; }", `route: line 1, column 16: expected a variable name after '$'`},
		{"route[f] { if ($socket_in(ip == 1) drop; }\n", `route: line 1, column 16: unsupported field "ip == 1" of $socket_in (ip and port are)`},
		{"route[f] {\n if ($socket_in(ip\n) == 1) drop; }", `route: line 2, column 6: unterminated parameter of $socket_in`},
		{"route[] { }", `route: line 1, column 7: expected a route name`},
		{"route f { }", `route: line 1, column 7: expected '[' and a route name`},
		{"route[f] exit;", `route: line 1, column 10: expected '{'`},
		{"startup_route { }", `route: line 1, column 1: only route[name] blocks are supported, found "startup_route"`},
		{"{ }", `route: line 1, column 1: expected route[name], found '{'`},
		{"route[f] { }\n\nroute[f] { }", `route: line 3, column 1: route[f] is defined twice`},
		{"route[f] {\n\t# é ü\n\tif ($sp == 1 ~ 2) drop;\n}", `route: line 3, column 15: unexpected character '~'`},
		{"route[f] {\n\t/* é */ if ($sp === 1) drop;\n}", `route: line 2, column 20: assignment '=' is not supported (compare with '==')`},
	}
	for _, c := range cases {
		_, err := Parse(c.src)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %s", c.src, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", c.src, err, c.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): error %T is not a *SyntaxError matching ErrSyntax", c.src, err)
		}
	}
}

func TestNestingIsBounded(t *testing.T) {
	deep := ""
	for range 1000 {
		deep += "("
	}
	_, err := Parse("route[f] { if " + deep + " }")
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("deep parentheses: %v, want a syntax error", err)
	}
	var se *SyntaxError
	errors.As(err, &se)
	if se.Msg != "nesting deeper than 100" {
		t.Errorf("deep parentheses: %v", err)
	}
}

func TestParseBodyLineOffset(t *testing.T) {
	_, err := ParseBody("tcp_filter", "if ($si == \"1.1.1.1\")\n\texit;\nelse\n\tdropp;\n", 41)
	if err == nil || err.Error() != `route: line 45, column 2: unknown statement "dropp"` {
		t.Errorf("ParseBody error = %v", err)
	}
	r, err := ParseBody("tcp_filter", "drop;", 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "tcp_filter" {
		t.Errorf("Name = %q", r.Name())
	}
	if _, err := ParseBody("x", "route[x] { drop; }", 0); err == nil {
		t.Error("ParseBody accepted a route[...] wrapper")
	}
}

func TestProgramRoutes(t *testing.T) {
	const src = `
# tracing filters
route[only_lan] {
	if ($si =~ "^10\.") exit;   # LAN peers are traced
	drop;
}

// everything but the SIP port
route["no-5060"] { if ($socket_in(port) == 5060) drop; }
route[3] { return(1); }
`
	prog, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := prog.Names(), []string{"only_lan", "no-5060", "3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
	lan, _ := prog.Route("only_lan")
	no5060, _ := prog.Route("no-5060")
	inLAN := conn(t, "10.1.2.3:40000", "192.0.2.1:5060")
	outside := conn(t, "198.51.100.1:40000", "192.0.2.1:5070")
	if !lan.Trace(inLAN) || lan.Trace(outside) {
		t.Error("only_lan gives the wrong verdicts")
	}
	if no5060.Trace(inLAN) || !no5060.Trace(outside) {
		t.Error("no-5060 gives the wrong verdicts")
	}
	if _, err := Parse(""); err != nil {
		t.Errorf("empty text: %v", err)
	}
}

func TestStringEscapes(t *testing.T) {
	lx := newLexer(`"a\"b\\c\n\t\r\'\.d" 'x\'y"z'`)
	for _, want := range []string{"a\"b\\c\n\t\r'\\.d", "x'y\"z"} {
		if tok := lx.next(); tok.kind != tString || tok.text != want {
			t.Errorf("string token %q, want %q", tok.text, want)
		}
	}
}
