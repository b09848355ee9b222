package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/web/pcap"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// TestDownloadedPcapDecodesAsSIP sends real SIP over TCP through the
// transport with tracing on, downloads GET /api/v1/pcap and checks that
// tshark decodes every request and response with its Call-ID.
func TestDownloadedPcapDecodesAsSIP(t *testing.T) {
	tshark := testtool.Program(t, "tshark", "tshark")
	ring := pcap.NewRing(0)
	f := newFixture(t, func(_ *Config, d *Deps) { d.Pcap = ring })
	f.tr.SetTracing(true)
	callIDs := []string{"first-call@sipwire.test", "second-call@sipwire.test", "third-call@sipwire.test"}
	for _, id := range callIDs {
		f.sipClient(id)
	}
	for range 1000 {
		if ring.Stats().Captured == uint64(2*len(callIDs)) {
			break
		}
		waitABit()
	}
	w := f.do("GET", "/api/v1/pcap", "")
	if w.Code != 200 {
		t.Fatalf("GET /pcap = %d %s", w.Code, w.Body)
	}
	path := filepath.Join(t.TempDir(), "download.pcap")
	if err := os.WriteFile(path, w.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", path, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got = append(got, strings.Join(strings.Fields(line), " "))
	}
	slices.Sort(got)
	var want []string
	for _, id := range callIDs {
		want = append(want, id+" OPTIONS", id+" 200")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tshark decoded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
