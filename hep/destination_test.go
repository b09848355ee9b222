package hep

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	cases := []struct {
		in   string
		want Destination
	}{
		{"[homer] 127.0.0.1:9060; transport=udp; version=3", Destination{"homer", "127.0.0.1", 9060, UDP, 3}},
		{"[h] 10.0.0.1", Destination{"h", "10.0.0.1", DefaultPort, TCP, 3}},
		{"  [hep_dst-1]collector.example.org:9061;transport=TLS", Destination{"hep_dst-1", "collector.example.org", 9061, TLS, 3}},
		{"[v6] [::1]:9999 ; version = 3 ; transport = tcp ;", Destination{"v6", "::1", 9999, TCP, 3}},
		{"[v6] [2001:db8::7]", Destination{"v6", "2001:db8::7", DefaultPort, TCP, 3}},
		{"[a] host;;transport=udp", Destination{"a", "host", DefaultPort, UDP, 3}},
	}
	for _, c := range cases {
		got, err := ParseDestination(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
		again, err := ParseDestination(got.String())
		if err != nil || again != got {
			t.Errorf("%q: String() %q does not parse back: %+v %v", c.in, got.String(), again, err)
		}
	}
}

func TestParseDestinationErrors(t *testing.T) {
	cases := []struct {
		in     string
		column int
		msg    string
	}{
		{"127.0.0.1:9060", 1, `expected "[name]"`},
		{"", 1, `expected "[name]"`},
		{"[homer 127.0.0.1", 1, "missing ']'"},
		{"[] 127.0.0.1", 2, "empty name"},
		{"[ho mer] 127.0.0.1", 4, "not allowed in a name"},
		{"[h]", 4, "expected host[:port]"},
		{"[h] ; transport=udp", 5, "expected host[:port]"},
		{"[h] 127.0.0.1:0", 15, `bad port "0"`},
		{"[h] 127.0.0.1:70000", 15, `bad port "70000"`},
		{"[h] 127.0.0.1:x", 15, `bad port "x"`},
		{"[h] 127.0.0.1:", 15, `bad port ""`},
		{"[h] ::1:9060", 5, "needs brackets"},
		{"[h] [::1", 5, "missing ']' after the IPv6"},
		{"[h] [1.2.3.4]:9", 6, "bad IPv6 address"},
		{"[h] [::1]x", 10, "expected ':' or ';'"},
		{"[h] ho/st", 7, "not allowed in a host"},
		{"[h] host; transport=sctp", 21, `transport "sctp"`},
		{"[h] host; version=2", 19, "version 2 is not supported"},
		{"[h] host; version=1; transport=udp", 19, "version 1 is not supported"},
		{"[h] host; version=4", 19, `bad version "4"`},
		{"[h] host; transport=udp; transport=tcp", 26, "transport given twice"},
		{"[h] host; proto=udp", 11, `unknown key "proto"`},
		{"[h] host; udp", 11, "expected key=value"},
	}
	for _, c := range cases {
		_, err := ParseDestination(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrBadDestination) {
			t.Errorf("%q: got %v, want a *SyntaxError", c.in, err)
			continue
		}
		if se.Column != c.column || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: got column %d %q, want column %d containing %q", c.in, se.Column, se.Msg, c.column, c.msg)
		}
		if !strings.Contains(err.Error(), "column") {
			t.Errorf("%q: error %q does not say where", c.in, err)
		}
	}
}

func TestParseDestinations(t *testing.T) {
	ds, err := ParseDestinations([]string{"[a] 127.0.0.1:9060; transport=udp", "[b] 127.0.0.1:9061"})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := FindDestination(ds, "b"); !ok || d.Port != 9061 || d.Transport != TCP {
		t.Errorf("FindDestination(b) = %+v %v", d, ok)
	}
	if _, ok := FindDestination(ds, "c"); ok {
		t.Error("FindDestination(c) found something")
	}
	_, err = ParseDestinations([]string{"[a] 127.0.0.1", "  [a] 127.0.0.2"})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Column != 4 {
		t.Errorf("duplicate name: %v", err)
	}
}
