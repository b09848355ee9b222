package transport

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

func TestOptionsRoundTripAndEOF(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c := h.dial()
	if _, err := c.Write([]byte(optionsReq)); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, bufio.NewReader(c))
	if !strings.HasPrefix(resp, "SIP/2.0 200 OK\r\n") || !strings.Contains(resp, "Call-ID: call-1@test") {
		t.Fatalf("response %q", resp)
	}
	c.Close()
	got := h.untilClosed()
	want := []string{"ACCEPTED/SUCCESS/Connection accepted", "CLOSED/SUCCESS/EOF received"}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}
