package route

import "testing"

// The example of proto_tcp's trace_filter_route documentation, with its
// "..." lines removed.
const openSIPSExample = `route[tcp_filter] {
	/* all connections opened from/by ip 1.1.1.1:8000 will be traced
	   on interface 1.1.1.10:5060(opensips listener)
	   all the other connections won't be */
	if ( $si == "1.1.1.1" && $sp == 8000 && $socket_in(ip) == "1.1.1.10" && $socket_in(port) == 5060)
		exit;
	else
		drop;
}
`

func TestOpenSIPSExample(t *testing.T) {
	prog, err := Parse(openSIPSExample)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := prog.Route("tcp_filter")
	if !ok {
		t.Fatal("route tcp_filter not found")
	}
	if _, ok := prog.Route("other"); ok {
		t.Error("route other found")
	}
	cases := []struct {
		peer, local string
		want        bool
	}{
		{"1.1.1.1:8000", "1.1.1.10:5060", true},
		{"1.1.1.2:8000", "1.1.1.10:5060", false},
		{"1.1.1.1:8001", "1.1.1.10:5060", false},
		{"1.1.1.1:8000", "1.1.1.11:5060", false},
		{"1.1.1.1:8000", "1.1.1.10:5061", false},
		{"[::ffff:1.1.1.1]:8000", "[::ffff:1.1.1.10]:5060", true},
	}
	for _, c := range cases {
		if got := r.Trace(conn(t, c.peer, c.local)); got != c.want {
			t.Errorf("peer %s local %s: Trace = %v, want %v", c.peer, c.local, got, c.want)
		}
	}
}

func TestParseOnOneLine(t *testing.T) {
	const src = `route[tcp_filter] { if ( $si == "1.1.1.1" && $sp == 8000 && $socket_in(ip) == "1.1.1.10" && $socket_in(port) == 5060) exit; else drop; }`
	prog, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := prog.Route("tcp_filter")
	if !r.Trace(conn(t, "1.1.1.1:8000", "1.1.1.10:5060")) || r.Trace(conn(t, "1.1.1.1:8000", "1.1.1.10:5070")) {
		t.Error("one-line example gives the wrong verdicts")
	}
}
