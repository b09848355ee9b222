package forward

import (
	"net/netip"
	"testing"
)

func TestParseVia(t *testing.T) {
	type want struct {
		ok                     bool
		host                   string
		port                   uint16
		sentBy, branch, rport  string
		hasRport, eq, received bool
		alias                  bool
		cid                    uint64
		rest                   string // the via-parm after the first, "" when none
	}
	cases := map[string]want{
		"SIP/2.0/TCP 127.0.0.1:5061;branch=z9hG4bK1":                   {ok: true, host: "127.0.0.1", port: 5061, sentBy: "127.0.0.1:5061", branch: "z9hG4bK1"},
		"SIP / 2.0 / TCP host.example.com ; branch = z9hG4bK2 ; rport": {ok: true, host: "host.example.com", sentBy: "host.example.com", branch: "z9hG4bK2", hasRport: true},
		"SIP/2.0/TCP [::1]:5062;rport=;received=10.0.0.1":              {ok: true, host: "::1", port: 5062, sentBy: "[::1]:5062", hasRport: true, eq: true, received: true},
		"SIP/2.0/TCP 10.0.0.1;rport=4000;alias;cid=17, SIP/2.0/UDP b":  {ok: true, host: "10.0.0.1", sentBy: "10.0.0.1", rport: "4000", hasRport: true, eq: true, alias: true, cid: 17, rest: "SIP/2.0/UDP b"},
		"SIP/2.0/TCP a;x=\"q;,\";branch=z9hG4bK3":                      {ok: true, host: "a", sentBy: "a", branch: "z9hG4bK3"},
		"SIP/2.0/TCP a:5060\r\n ;branch=z9hG4bK4":                      {ok: true, host: "a", port: 5060, sentBy: "a:5060", branch: "z9hG4bK4"},
		"SIP/2.0/TCP":                 {},
		"SIP/2.0 127.0.0.1":           {},
		"SIP/2.0/TCP 127.0.0.1:0":     {},
		"SIP/2.0/TCP 127.0.0.1:70000": {},
		"SIP/2.0/TCP [::1":            {},
		"SIP/2.0/TCP a;":              {},
		"SIP/2.0/TCP a junk":          {},
	}
	for in, w := range cases {
		b := []byte(in)
		var v via
		ok := parseVia(b, 0, len(b), &v)
		if ok != w.ok {
			t.Errorf("%q: ok %v, want %v", in, ok, w.ok)
			continue
		}
		if !ok {
			continue
		}
		rest := ""
		if v.next != 0 {
			rest = in[v.next:]
		}
		got := want{ok: true, host: string(v.host.of(b)), port: v.port, sentBy: string(v.sentBy.of(b)),
			branch: string(v.branch.of(b)), rport: string(v.rport.of(b)), hasRport: v.hasRport, eq: v.rportEq,
			received: v.hasReceived, alias: v.alias, cid: v.cid, rest: rest}
		if got != w {
			t.Errorf("%q:\n got %+v\nwant %+v", in, got, w)
		}
	}
}

func TestParseSIPURI(t *testing.T) {
	type want struct {
		ok     bool
		user   bool
		host   string
		port   uint16
		cid    uint64
		hasCID bool
	}
	cases := map[string]want{
		"sip:127.0.0.1":                          {ok: true, host: "127.0.0.1"},
		"SIP:alice@127.0.0.1:5070;transport=tcp": {ok: true, user: true, host: "127.0.0.1", port: 5070},
		"sips:[::1]:5071;lr;cid=42":              {ok: true, host: "::1", port: 5071, cid: 42, hasCID: true},
		"sip:a;b@example.com?subject=x":          {ok: true, user: true, host: "example.com"},
		"sip:example.com;cid=x":                  {ok: true, host: "example.com"},
		"tel:+15551234":                          {},
		"sip:":                                   {},
		"sip:@":                                  {},
		"sip:[::1":                               {},
		"sip:host:99999":                         {},
	}
	for in, w := range cases {
		b := []byte(in)
		var u sipURI
		ok := parseSIPURI(b, 0, len(b), &u)
		got := want{ok: ok}
		if ok {
			got = want{ok: true, user: u.hasUser, host: string(u.host.of(b)), port: u.port, cid: u.cid, hasCID: u.hasCID}
		}
		if got != w {
			t.Errorf("%q:\n got %+v\nwant %+v", in, got, w)
		}
	}
}

func TestFirstRoute(t *testing.T) {
	cases := []struct{ in, uri, next string }{
		{"<sip:a;lr>", "sip:a;lr", ""},
		{`"x, <y>" <sip:a;lr>;p=1 , <sip:b>`, "sip:a;lr", "<sip:b>"},
		{"<sip:a>,", "sip:a", ""},
	}
	for _, c := range cases {
		b := []byte(c.in)
		u, next, ok := firstRoute(b, 0, len(b))
		if !ok {
			t.Errorf("%q: not parsed", c.in)
			continue
		}
		gotNext := ""
		if next != 0 {
			gotNext = c.in[next:]
		}
		if string(u.of(b)) != c.uri || gotNext != c.next {
			t.Errorf("%q: uri %q next %q, want %q %q", c.in, u.of(b), gotNext, c.uri, c.next)
		}
	}
	for _, in := range []string{"sip:a", "<sip:a", ""} {
		b := []byte(in)
		if _, _, ok := firstRoute(b, 0, len(b)); ok {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestScanHeaders(t *testing.T) {
	msg := "INVITE sip:x SIP/2.0\r\n" +
		"v: SIP/2.0/TCP a\r\n" +
		"X-Via: not a via\r\n" +
		"VIA : SIP/2.0/TCP b,\r\n SIP/2.0/TCP c\r\n" +
		"Via: SIP/2.0/TCP d\r\n" +
		"route: <sip:r1>\r\n" +
		"Route: <sip:r2>\r\n" +
		"Route: <sip:r3>\r\n" +
		"f: <sip:f>;tag=1\r\n" +
		"TO:   <sip:t>  \r\n" +
		"Max-Forwards: 7\r\n" +
		"Record-Route: <sip:rr>\r\n" +
		"\r\n"
	b := []byte(msg)
	var h headers
	scanHeaders(b, &h)
	for name, c := range map[string]struct {
		f    field
		want string
	}{
		"via":          {h.via, "SIP/2.0/TCP a"},
		"via2":         {h.via2, "SIP/2.0/TCP b,\r\n SIP/2.0/TCP c"},
		"route":        {h.route, "<sip:r1>"},
		"route2":       {h.route2, "<sip:r2>"},
		"from":         {h.from, "<sip:f>;tag=1"},
		"to":           {h.to, "<sip:t>"},
		"max-forwards": {h.maxFwd, "7"},
		"record-route": {h.recordRoute, "<sip:rr>"},
	} {
		if got := string(b[c.f.vlo:c.f.vhi]); got != c.want {
			t.Errorf("%s = %q, want %q", name, got, c.want)
		}
	}
	if got := msg[h.via2.line:h.via2.end]; got != "VIA : SIP/2.0/TCP b,\r\n SIP/2.0/TCP c\r\n" {
		t.Errorf("via2 line %q", got)
	}
}

func TestHeaderTag(t *testing.T) {
	for in, want := range map[string]string{
		`"A;tag=no" <sip:a@x;tag=no>;tag=yes`: "yes",
		"<sip:a@x> ; TAG = t1 ; x=y":          "t1",
		"sip:a@x;tag=t2":                      "t2",
		"<sip:a@x;tag=no>":                    "",
		"<sip:a@x>;lr;tag":                    "",
	} {
		b := []byte("To: " + in + "\r\n\r\n")
		f := field{line: 0, end: len(b) - 2, vlo: 4, vhi: 4 + len(in)}
		if got := string(headerTag(b, &f)); got != want {
			t.Errorf("%q: tag %q, want %q", in, got, want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":       "127.0.0.1",
		"255.255.255.255": "255.255.255.255",
		"::1":             "::1",
		"::ffff:10.0.0.1": "10.0.0.1",
		"256.0.0.1":       "",
		"1.2.3":           "",
		"01.2.3.4":        "",
		"1.2.3.4.":        "",
		"example.com":     "",
		"fe80::1%eth0":    "",
	} {
		a, ok := parseAddr([]byte(in))
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if a, _ := parseAddr([]byte("10.1.2.3")); a != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("10.1.2.3 parsed as %s", a)
	}
}
