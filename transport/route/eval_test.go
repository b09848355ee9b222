package route

import (
	"net/netip"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// verdicts runs each condition in "if (COND) exit; drop;" for one
// connection; want is whether COND holds.
func verdicts(t *testing.T, peer, local string, cases map[string]bool) {
	t.Helper()
	info := conn(t, peer, local)
	for c, want := range cases {
		r := body(t, "if ("+c+") exit; drop;")
		if got := r.Trace(info); got != want {
			t.Errorf("peer %s local %s: (%s) = %v, want %v", peer, local, c, got, want)
		}
	}
}

func TestOperators(t *testing.T) {
	verdicts(t, "10.0.0.7:5080", "192.0.2.1:5060", map[string]bool{
		`$si == "10.0.0.7"`:                true,
		`$si == "10.0.0.8"`:                false,
		`$si != "10.0.0.8"`:                true,
		`$si != "10.0.0.7"`:                false,
		`$sp == 5080`:                      true,
		`$sp == "5080"`:                    true,
		`$sp == 5081`:                      false,
		`$sp == "5081"`:                    false,
		`$sp != 5080`:                      false,
		`$sp != "5081"`:                    true,
		`$sp < 5081`:                       true,
		`$sp < 5080`:                       false,
		`$sp <= 5080`:                      true,
		`$sp > 5079`:                       true,
		`$sp > 5080`:                       false,
		`$sp >= 5080`:                      true,
		`1024 < $sp`:                       true,
		`$sp == 0x13d8`:                    true,
		`"10.0.0.7" == $si`:                true,
		`5060 == $socket_in(port)`:         true,
		`$socket_in(ip) == "192.0.2.1"`:    true,
		`$socket_in(port) == 5060`:         true,
		`$socket_in(ip) == $si`:            false,
		`$socket_in(ip) != $si`:            true,
		`$si == $si`:                       true,
		`$sp == $socket_in(port)`:          false,
		`$sp > $socket_in(port)`:           true,
		`$si =~ "^10\.0\."`:                true,
		`$si =~ "^10\.1\."`:                false,
		`$si !~ "^10\.1\."`:                true,
		`$sp =~ "^50[0-9]+$"`:              true,
		`$sp !~ "^50"`:                     false,
		`$si && $sp`:                       true,
		`!$si`:                             false,
		`$si == "10.0.0.7" && $sp == 5080`: true,
		`$si == "10.0.0.7" && $sp == 5081`: false,
		`$si == "10.0.0.8" || $sp == 5080`: true,
		`$si == "10.0.0.8" || $sp == 5081`: false,
		`!($si == "10.0.0.7")`:             false,
		`!$si == "10.0.0.8"`:               true,
		`!!($sp == 5080)`:                  true,
		`((($sp == 5080)))`:                true,
		`1`:                                true,
		`0`:                                false,
		`""`:                               false,
		`"x"`:                              true,
		`"a" == "a"`:                       true,
		`"a" != "a"`:                       false,
		`"8000" == 8000`:                   true,
		`1 < 2`:                            true,
		`"abc" =~ "B"`:                     true,
		`'10.0.0.7' == $si`:                true,
		`$si == ""`:                        false,
		`$socket_in(ip) =~ "^192\\.0\\.2"`: true,
	})
}

func TestPrecedence(t *testing.T) {
	// && binds tighter than ||: a || b && c is a || (b && c).
	verdicts(t, "10.0.0.7:5080", "192.0.2.1:5060", map[string]bool{
		`$sp == 5080 || $sp == 1 && $sp == 2`:                       true,
		`($sp == 5080 || $sp == 1) && $sp == 2`:                     false,
		`$sp == 1 && $sp == 2 || $sp == 5080`:                       true,
		`$sp == 1 && ($sp == 2 || $sp == 5080)`:                     false,
		`!$sp == 1 && $sp == 5080`:                                  true,
		`!($sp == 5080 || $sp == 1)`:                                false,
		`$sp == 1 || $sp == 2 || $sp == 5080`:                       true,
		`$sp == 5080 && $si == "10.0.0.7" && $socket_in(port) == 1`: false,
	})
}

func TestVerdict(t *testing.T) {
	info := conn(t, "10.0.0.7:5080", "192.0.2.1:5060")
	cases := []struct {
		src  string
		want bool
	}{
		{"", true},
		{"drop;", false},
		{"exit;", true},
		{"return;", true},
		{"return(1);", true},
		{"return(-1);", true},
		{"return(0);", true},
		{"return 2;", true},
		{"exit; drop;", true},
		{"return; drop;", true},
		{"drop; exit;", false},
		{"exit(); drop();", true},
		{"if ($sp == 5080) drop;", false},
		{"if ($sp == 1) drop;", true},
		{"if ($sp == 1) drop; else exit; drop;", true},
		{"if ($sp == 1) exit; else { ; }", true},
		{"if ($sp == 1) exit; else { ; } drop;", false},
		{"if ($sp == 1) exit; else if ($sp == 5080) drop; else exit;", false},
		{"if ($sp == 1) exit; else if ($sp == 2) drop; else exit; drop;", true},
		{"if ($sp == 5080) { if ($si == \"10.0.0.7\") { drop; } } exit;", false},
		{"if ($sp == 5080) { if ($si == \"10.0.0.8\") { drop; } } exit;", true},
		{"if ($sp == 5080) ; drop;", false},
		{"{ { } } ; ;", true},
	}
	for _, c := range cases {
		if got := body(t, c.src).Trace(info); got != c.want {
			t.Errorf("%q: Trace = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestIPv6(t *testing.T) {
	verdicts(t, "[2001:db8::7]:5080", "[2001:db8::1]:5060", map[string]bool{
		`$si == "2001:db8::7"`:            true,
		`$si == "2001:DB8::7"`:            true,
		`$si == "2001:db8:0:0:0:0:0:7"`:   true,
		`$si == "2001:db8::8"`:            false,
		`$si != "2001:db8::7"`:            false,
		`$socket_in(ip) == "2001:db8::1"`: true,
		`$si =~ "^2001:db8::7$"`:          true,
		`$si =~ "^2001:DB8::"`:            true,
		`$si =~ "0:0"`:                    false,
		`$si == "10.0.0.7"`:               false,
	})
	// An IPv4-mapped peer equals its IPv4 form, and the other way round.
	verdicts(t, "[::ffff:10.0.0.7]:5080", "[::ffff:192.0.2.1]:5060", map[string]bool{
		`$si == "10.0.0.7"`:             true,
		`$si == "::ffff:10.0.0.7"`:      true,
		`$si =~ "^10\.0\.0\.7$"`:        true,
		`$socket_in(ip) == "192.0.2.1"`: true,
	})
	verdicts(t, "10.0.0.7:5080", "192.0.2.1:5060", map[string]bool{
		`$si == "::ffff:10.0.0.7"`: true,
		`$si == "::ffff:a00:7"`:    true,
	})
	verdicts(t, "[fe80::1%eth0]:5080", "[fe80::2%eth0]:5060", map[string]bool{
		`$si == "fe80::1%eth0"`:   true,
		`$si == "fe80::1"`:        false,
		`$si =~ "^fe80::1%eth0$"`: true,
	})
}

func TestSocketInFallsBackToListener(t *testing.T) {
	r := body(t, `if ($socket_in(ip) == "192.0.2.1" && $socket_in(port) == 5060) exit; drop;`)
	info := transport.ConnInfo{
		Remote:   netip.MustParseAddrPort("10.0.0.7:5080"),
		Listener: netip.MustParseAddrPort("192.0.2.1:5060"),
	}
	if !r.Trace(info) {
		t.Error("listener not used while the local address is unknown")
	}
	info.Local = netip.MustParseAddrPort("192.0.2.9:5060")
	if r.Trace(info) {
		t.Error("listener used although the local address is known")
	}
}

func TestUnknownAddresses(t *testing.T) {
	// An outbound connection whose connect has not finished: no local
	// address, no listener.
	info := transport.ConnInfo{Direction: transport.Outbound, Remote: netip.MustParseAddrPort("10.0.0.7:5080")}
	cases := map[string]bool{
		`$socket_in(ip) == ""`:      true,
		`$socket_in(ip)`:            false,
		`$socket_in(port)`:          false,
		`$socket_in(port) == 0`:     true,
		`$socket_in(ip) =~ "^$"`:    true,
		`$socket_in(port) =~ "^0$"`: true,
		`$si == ""`:                 false,
	}
	for c, want := range cases {
		if got := body(t, "if ("+c+") exit; drop;").Trace(info); got != want {
			t.Errorf("(%s) = %v, want %v", c, got, want)
		}
	}
}

func TestEvaluationAllocatesNothing(t *testing.T) {
	prog, err := Parse(openSIPSExample + `route[re] { if ($si =~ "^1\.1\." && $sp !~ "^9" && $socket_in(ip) =~ "10$") exit; drop; }`)
	if err != nil {
		t.Fatal(err)
	}
	info := conn(t, "[2001:db8::1]:8000", "1.1.1.10:5060")
	for _, name := range prog.Names() {
		r, _ := prog.Route(name)
		if n := testing.AllocsPerRun(200, func() { r.Trace(info) }); n != 0 {
			t.Errorf("route %s: %v allocations per Trace, want 0", name, n)
		}
	}
}
