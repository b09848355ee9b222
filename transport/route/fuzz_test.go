package route

import (
	"errors"
	"testing"
)

// FuzzParse checks that parsing never panics, that every error is a
// *SyntaxError with a position inside the text, and that whatever parses
// can be evaluated.
func FuzzParse(f *testing.F) {
	f.Add(openSIPSExample)
	f.Add(`route[a] { if (!($si =~ "^10\." || $sp < 1024) && $socket_in(port) != "5060") { drop; } else return(1); }`)
	f.Add("route[\"b\"] { /* c */ if ($si == '::1') exit(); # d\n }")
	f.Add("if ($si == \"1.1.1.1\"\n\texit;")
	f.Add(`route[x] { if ($socket_in(ip) == $si || -0x10 >= $sp) ; }`)
	infos := []string{"1.1.1.1:8000", "[2001:db8::1]:5060", "[::ffff:10.0.0.1]:1"}
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := Parse(src)
		if err != nil {
			checkSyntaxError(t, src, err)
		} else {
			for _, name := range prog.Names() {
				r, ok := prog.Route(name)
				if !ok {
					t.Fatalf("route %q listed but not found", name)
				}
				for _, peer := range infos {
					r.Trace(conn(t, peer, "1.1.1.10:5060"))
				}
			}
		}
		r, err := ParseBody("fuzz", src, 0)
		if err != nil {
			checkSyntaxError(t, src, err)
			return
		}
		for _, peer := range infos {
			r.Trace(conn(t, peer, ""))
		}
	})
}

// checkSyntaxError fails unless err is a *SyntaxError within src.
func checkSyntaxError(t *testing.T, src string, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	lines := 1
	for i := range len(src) {
		if src[i] == '\n' {
			lines++
		}
	}
	if se.Line < 1 || se.Line > lines || se.Col < 1 || se.Col > len(src)+1 {
		t.Fatalf("error position %d:%d outside the text (%d lines, %d bytes): %v", se.Line, se.Col, lines, len(src), err)
	}
}
