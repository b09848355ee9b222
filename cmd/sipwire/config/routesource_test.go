package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport/route"
)

// RouteSource and route.ParseBody together report a route's syntax error at
// its line in the configuration file: ParseBody takes line-1, the line
// just before the body.
func TestRouteErrorsAtFileLines(t *testing.T) {
	yamlDoc := "trace_filter_route: f\n" + // 1
		"route:\n" + // 2
		"  f: |\n" + // 3
		"    if ($si == \"10.0.0.1\")\n" + // 4
		"        exit )\n" + // 5
		"    drop;\n" // 6
	cfgDoc := "socket=tcp:127.0.0.1\n" + // 1
		"modparam(\"proto_tcp\", \"trace_filter_route\", \"f\")\n" + // 2
		"route[f] { if ($si == \"10.0.0.1\")\n" + // 3
		"        exit )\n" + // 4
		"    drop;\n" + // 5
		"}\n"
	for _, tc := range []struct {
		name, doc string
		line      int
	}{{"sipwire.yaml", yamlDoc, 5}, {"opensips.cfg", cfgDoc, 4}} {
		c, err := config.Parse([]byte(tc.doc), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		body, line := c.RouteSource("f")
		_, err = route.ParseBody("f", body, line-1)
		var se *route.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%s: want a syntax error, got %v", tc.name, err)
		}
		if se.Line != tc.line {
			t.Errorf("%s: error %v at line %d, want %d", tc.name, err, se.Line, tc.line)
		}
	}
}

// The routes of the example configurations compile.
func TestExampleRoutesCompile(t *testing.T) {
	data, err := os.ReadFile("testdata/opensips.cfg")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*config.Config{config.Default(), mustParse(t, data, "opensips.cfg")} {
		for name := range c.Route {
			body, line := c.RouteSource(name)
			if _, err := route.ParseBody(name, body, line-1); err != nil {
				t.Errorf("%s: route %s: %v", c.Source(), name, err)
			}
		}
	}
}

func mustParse(t *testing.T, data []byte, name string) *config.Config {
	t.Helper()
	c, err := config.Parse(data, name)
	if err != nil {
		t.Fatal(strings.TrimSpace(err.Error()))
	}
	return c
}
