package route

import "testing"

func benchmarkTrace(b *testing.B, src, peer, local string) {
	r, err := ParseBody("bench", src, 0)
	if err != nil {
		b.Fatal(err)
	}
	info := conn(b, peer, local)
	b.ReportAllocs()
	for b.Loop() {
		r.Trace(info)
	}
}

// BenchmarkTraceExample runs the body of proto_tcp's documented example for
// a connection that matches every comparison.
func BenchmarkTraceExample(b *testing.B) {
	benchmarkTrace(b,
		`if ( $si == "1.1.1.1" && $sp == 8000 && $socket_in(ip) == "1.1.1.10" && $socket_in(port) == 5060) exit; else drop;`,
		"1.1.1.1:8000", "1.1.1.10:5060")
}

// BenchmarkTraceIPv6 compares IPv6 and IPv4-mapped addresses.
func BenchmarkTraceIPv6(b *testing.B) {
	benchmarkTrace(b,
		`if ($si == "2001:db8::7" || $si == "10.0.0.1") exit; drop;`,
		"[::ffff:10.0.0.1]:5080", "[2001:db8::1]:5060")
}

// BenchmarkTraceRegex matches an IPv6 address and a port against patterns.
func BenchmarkTraceRegex(b *testing.B) {
	benchmarkTrace(b,
		`if ($si =~ "^2001:db8::" && $sp =~ "^50[0-9][0-9]$") exit; drop;`,
		"[2001:db8::7]:5080", "[2001:db8::1]:5060")
}
