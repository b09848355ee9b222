package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpListsSubcommands: sipwire -h names every subcommand, exits 0 and
// runs nothing.
func TestHelpListsSubcommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 {
		t.Fatalf("sipwire -h = %d\n%s", code, errb.String())
	}
	for _, want := range []string{"sipwire trace", "sipwire conns", "sipwire events", "sipwire healthcheck", "-config", "SIPWIRE_WEB_TOKEN"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("sipwire -h does not mention %q:\n%s", want, errb.String())
		}
	}
	errb.Reset()
	if code := run([]string{"trace", "bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `"bogus" is not a trace state (on or off)`) {
		t.Errorf("sipwire trace bogus = %d\n%s", code, errb.String())
	}
}
