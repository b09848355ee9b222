// Package route parses and runs the subset of OpenSIPS' script language that
// proto_tcp's trace_filter_route uses: a route[name] { ... } block run once
// when a connection opens, whose verdict says whether the connection's
// events are traced.
//
// The language:
//
//	route[tcp_filter] {
//	    # all connections from 1.1.1.1:8000 on our 1.1.1.10:5060 are traced
//	    if ($si == "1.1.1.1" && $sp == 8000 &&
//	        $socket_in(ip) == "1.1.1.10" && $socket_in(port) == 5060)
//	        exit;
//	    else
//	        drop;
//	}
//
// Statements: if (cond) stmt [else stmt], { ... } blocks, the empty
// statement ";", and the actions exit, drop, return and return(N), each
// ended by ";". Conditions: ==, !=, =~ and !~ (regular expressions, matched
// case-insensitively like OpenSIPS does), <, >, <= and >= (numbers only),
// &&, || (&& binds tighter), ! and parentheses. Operands: "..." or '...'
// strings (escapes \" \' \\ \n \r \t; any other backslash is kept, so
// "^10\.0\." is a usable pattern), decimal or 0x integers, and the variables
// $si and $sp (the peer's address and port) and $socket_in(ip) and
// $socket_in(port) (the local socket of the connection, or its listener
// while the local address is not known yet). A variable alone is a
// condition that holds when it is set (an address) or not zero (a port).
// Comments: #, // and /* */.
//
// Verdict, as in OpenSIPS: a connection is silenced only when a drop
// executes; exit, return and running off the end trace it. There are no
// sub-routes, so return ends the route like exit.
//
// Addresses compare as addresses, not as text: a literal is parsed once with
// net/netip, so "2001:DB8::1" and "2001:db8:0:0::1" both equal the peer
// 2001:db8::1, and an IPv4-mapped IPv6 address equals its IPv4 form. A
// regular expression sees an address in its canonical text form
// (netip.Addr.String of the unmapped address) and a port in decimal.
// A port compared with a string compares as OpenSIPS' text comparison would:
// "8000" equals port 8000.
//
// Everything outside the subset — other variables, functions, statements,
// operators — and every comparison that could never hold (a non-address
// string against $si, a port out of range) is a parse error with its line
// and column, never a silent false. Parsing compiles everything, regular
// expressions included; evaluation allocates nothing and is safe for
// concurrent use.
package route
