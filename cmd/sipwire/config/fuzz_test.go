package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// checkParsed holds for every file: an error is a list of *Error with lines
// inside the file, and a configuration that parses prints as YAML that
// reads back the same.
func checkParsed(t *testing.T, data []byte, c *Config, err error) {
	t.Helper()
	if err != nil {
		lines := bytes.Count(data, []byte("\n")) + 1
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		for _, e := range list {
			var ce *Error
			if !errors.As(e, &ce) {
				t.Fatalf("%v is not an *Error", e)
			}
			if ce.Line < 0 || ce.Line > lines+1 {
				t.Fatalf("%v: line %d outside the file's %d lines", e, ce.Line, lines)
			}
		}
		return
	}
	var buf bytes.Buffer
	if err := c.Print(&buf, false); err != nil {
		t.Fatal(err)
	}
	back, err := ParseYAML(buf.Bytes(), "printed.yaml")
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, buf.String())
	}
	if !equalConfig(c, back) {
		a, _ := c.MarshalJSON()
		b, _ := back.MarshalJSON()
		t.Fatalf("printed config reads back differently:\n%s\n%s\n%s", a, b, buf.String())
	}
}

func FuzzParseOpenSIPS(f *testing.F) {
	f.Add(strings.Join(realisticCfg(f), "\n"))
	f.Add("socket=tcp:127.0.0.1:5080 as 192.0.2.1:5060\nmodparam(\"proto_hep\", \"hep_id\", \"[v2] 10.0.0.2:9060; version=2\")\n" +
		"modparam(\"proto_tcp\", \"trace_destination\", \"v2\")\nmodparam(\"proto_tcp\", \"trace_filter_route\", \"f\")\n" +
		"route[f] { if ($si == \"1.2.3.4\") { route(g); } exit; }\nroute[g] { drop; }\n")
	f.Add("/* open\n")
	f.Add("route[a] {\n if (1) {\n")
	f.Add("modparam(\"proto_tcp\", 'tcp_port', \"5\\\"0\")\n")
	f.Add("listen=tcp:[::1]:5070 // c\n# x\ntcp_max_connections=7\n")
	f.Fuzz(func(t *testing.T, src string) {
		data := []byte(src)
		c, err := ParseOpenSIPS(data, "f.cfg")
		checkParsed(t, data, c, err)
	})
}

func FuzzParseYAML(f *testing.F) {
	f.Add(defaultYAML)
	for _, kc := range keyCases {
		f.Add(kc.doc())
	}
	f.Add("history: off\nroute:\n  r: |2\n     x\n   y\n")
	f.Fuzz(func(t *testing.T, src string) {
		data := []byte(src)
		c, err := ParseYAML(data, "f.yaml")
		checkParsed(t, data, c, err)
	})
}
