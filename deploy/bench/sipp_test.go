package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSIPpStats(t *testing.T) {
	// Header, first and last line of a real run: 30,000 calls at 2,000/s.
	s, err := readSIPpStats("testdata/uac-stats.csv")
	if err != nil {
		t.Fatal(err)
	}
	if s.Successful != 30000 || s.Failed != 0 {
		t.Errorf("got %+v, want 30000 successful, 0 failed", s)
	}
	if want := 15069127 * time.Microsecond; s.Elapsed != want {
		t.Errorf("elapsed %v, want %v", s.Elapsed, want)
	}
	if r := s.Rate(); r < 1990 || r > 1992 {
		t.Errorf("rate %.1f, want 1990.8", r)
	}
}

func TestParseSIPpStatsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"header only":    "StartTime;CurrentTime;SuccessfulCall(C);FailedCall(C)\n",
		"missing column": "StartTime;CurrentTime;SuccessfulCall(C)\na\t1.0;b\t2.0;5\n",
		"not a number":   "StartTime;CurrentTime;SuccessfulCall(C);FailedCall(C)\na\t1.0;b\t2.0;five;0\n",
	} {
		if _, err := parseSIPpStats(strings.NewReader(in)); !errors.Is(err, errSIPpStats) {
			t.Errorf("%s: err = %v, want errSIPpStats", name, err)
		}
	}
}

func TestSIPpArgs(t *testing.T) {
	uac := strings.Join(uacArgs("tn", 2000, 40000, 90*time.Second, "s.csv"), " ")
	for _, want := range []string{"-sn uac", "-t tn", "-r 2000", "-m 40000", "-timeout 90s", "-max_socket 10000", "-stf s.csv"} {
		if !strings.Contains(uac, want) {
			t.Errorf("uac args %q lack %q", uac, want)
		}
	}
	if !strings.HasSuffix(uac, " 127.0.0.1:5060") {
		t.Errorf("uac args %q do not end with the forwarder", uac)
	}
	if uas := strings.Join(uasArgs("t1"), " "); strings.Contains(uas, "max_socket") || !strings.Contains(uas, "-p 5070") {
		t.Errorf("uas args %q", uas)
	}
}
