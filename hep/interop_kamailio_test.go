package hep

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// kamailioModuleDirs are where Debian puts Kamailio's modules.
var kamailioModuleDirs = []string{"/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules"}

// kamailioConfig makes Kamailio's sipcapture module a HEP collector on
// UDP and TCP that logs every chunk it decoded on one line; byte chunks are
// hex-encoded so that a payload stays on that line.
const kamailioConfig = `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:%[1]d
listen=tcp:127.0.0.1:%[1]d
tcp_accept_hep3=yes
tcp_accept_no_cl=yes
mpath="%[2]s"
loadmodule "db_text.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "sipcapture.so"
modparam("sipcapture", "db_url", "text://%[3]s")
modparam("sipcapture", "capture_on", 1)
modparam("sipcapture", "hep_capture_on", 1)
modparam("sipcapture", "nonsip_hook", 1)
event_route[sipcapture:request] {
	xlog("L_ALERT", "HEPCHUNKS|$hep(0x001)|$hep(0x002)|$hep(0x003)|$hep(0x004)|$hep(0x005)|$hep(0x006)|$hep(0x007)|$hep(0x008)|$hep(0x009)|$hep(0x00a)|$hep(0x00b)|$hep(0x00c)|$(hep(0x00e){s.encode.hexa})|$(hep(0x011){s.encode.hexa})|$(hep(0x00f){s.encode.hexa})|END\n");
	drop;
}
request_route {
	drop;
}
`

// startKamailio runs a Kamailio HEP collector and returns its port.
func startKamailio(t *testing.T) (int, *extProc) {
	t.Helper()
	needTool(t, "kamailio", "kamailio")
	var modPaths []string
	for _, d := range kamailioModuleDirs {
		modPaths = append(modPaths, filepath.Join(d, "sipcapture.so"))
	}
	modDir := filepath.Dir(testtool.File(t, "Kamailio's sipcapture module", "kamailio", modPaths...))
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, kamailioConfig, port, modDir, db), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, os.Environ(), "kamailio", "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8",
		"-P", filepath.Join(dir, "kamailio.pid"), "-Y", dir, "-w", dir)
	waitFor(t, "Kamailio to listen", func() bool {
		if p.exited() {
			t.Fatalf("kamailio exited:\n%s", p.output())
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return port, p
}

// kamailioPacket is what Kamailio decoded from one HEP packet.
type kamailioPacket struct {
	family, ipProto, protoType, captureID string
	src, dst                              netip.AddrPort
	sec, usec                             string
	authKey, correlation, payload         string
}

// kamailioPackets parses the HEPCHUNKS lines Kamailio logged.
func kamailioPackets(t *testing.T, out string) []kamailioPacket {
	t.Helper()
	var pkts []kamailioPacket
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, "HEPCHUNKS|")
		if i < 0 || !strings.HasSuffix(line, "|END") {
			continue
		}
		f := strings.Split(line[i:], "|")
		if len(f) != 17 {
			t.Fatalf("unexpected line %q", line)
		}
		addr := func(v4, v6, port string) netip.AddrPort {
			s := v4
			if s == "" {
				s = v6
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				t.Fatalf("address %q in %q: %v", s, line, err)
			}
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				t.Fatalf("port %q in %q: %v", port, line, err)
			}
			return netip.AddrPortFrom(a, uint16(n))
		}
		unhex := func(s string) string {
			b, err := hex.DecodeString(s)
			if err != nil {
				t.Fatalf("hex %q in %q: %v", s, line, err)
			}
			return string(b)
		}
		pkts = append(pkts, kamailioPacket{
			family: f[1], ipProto: f[2], src: addr(f[3], f[5], f[7]), dst: addr(f[4], f[6], f[8]),
			sec: f[9], usec: f[10], protoType: f[11], captureID: f[12],
			authKey: unhex(f[13]), correlation: unhex(f[14]), payload: unhex(f[15]),
		})
	}
	return pkts
}

// interopCase is one thing sent and what a collector must decode from it.
type interopCase struct {
	send      func(tr *Tracer)
	family    string
	src, dst  netip.AddrPort
	sec, usec string
	protoType string
	corr      string
	payload   string
}

// interopCases returns events and SIP messages, IPv4 and IPv6, in both
// formats, with the exact fields a decoder must find. The expectations are
// written from the inputs, not from this package's encoder.
func interopCases() (homer, opensips []interopCase) {
	sec := strconv.FormatInt(evTime.Unix(), 10)
	acc := acceptedEvent(77)
	v6Local := netip.MustParseAddrPort("[2001:db8::1]:5061")
	v6Peer := netip.MustParseAddrPort("[2001:db8::2]:40002")
	msg6 := tapped("interop-call-2@h", "v6", 7)
	msg6.Conn.Local, msg6.Conn.Remote, msg6.Direction = v6Local, v6Peer, transport.Sent
	msg4 := tapped("interop-call-1@h", "v4", 3)
	connected := transport.Event{Kind: transport.EventConnected, ConnID: 78, Direction: transport.Outbound,
		Time: evTime.Add(1500 * time.Microsecond), Local: v6Local, Remote: v6Peer, Reason: "Successfully connected"}
	homer = []interopCase{
		{func(tr *Tracer) { tr.HandleEvent(&acc) }, "2", evPeer, evLocal, sec, "123456", "100", "77",
			`{"Protocol":"TCP","Event":"ACCEPTED","Status":"SUCCESS","Message":"Connection accepted...","ConnID":77,"Direction":"in","Local":"127.0.0.1:5060","Remote":"127.0.0.2:40001","Reason":"Connection accepted"}`},
		{func(tr *Tracer) { tr.TapMessage(msg4) }, "2", evPeer, evLocal, sec, "123456", "1", "interop-call-1@h", string(msg4.Data)},
		{func(tr *Tracer) { tr.TapMessage(msg6) }, "10", v6Local, v6Peer, sec, "123456", "1", "interop-call-2@h", string(msg6.Data)},
	}
	opensips = []interopCase{
		{func(tr *Tracer) { tr.HandleEvent(&connected) }, "10", v6Local, v6Peer, sec, "124956", "89", "78",
			`TCP:CONNECTED:SUCCESS:Successfully connected...`},
	}
	return homer, opensips
}

func TestInteropKamailio(t *testing.T) {
	for _, tp := range []Transport{UDP, TCP} {
		t.Run(tp.String(), func(t *testing.T) {
			port, kam := startKamailio(t)
			dest := streamDest("kamailio", port, tp)
			homer, opensips := interopCases()
			trH := newTestTracer(t, Config{Destinations: []Destination{dest}, CaptureID: 4242, AuthKey: "k3y", NodeName: "node-a"})
			trO := newTestTracer(t, Config{Destinations: []Destination{dest}, CaptureID: 4242, AuthKey: "k3y", Format: FormatOpenSIPS, OpenSIPSPayload: PayloadText})
			for _, c := range homer {
				c.send(trH)
			}
			for _, c := range opensips {
				c.send(trO)
			}
			want := append(homer, opensips...)
			var got []kamailioPacket
			waitFor(t, "Kamailio to log every packet", func() bool {
				got = kamailioPackets(t, kam.output())
				return len(got) >= len(want)
			})
			byCorr := map[string]kamailioPacket{}
			for _, g := range got {
				byCorr[g.correlation] = g
			}
			for _, w := range want {
				g, ok := byCorr[w.corr]
				if !ok {
					t.Errorf("Kamailio decoded no packet with correlation id %q", w.corr)
					continue
				}
				check := func(field, got, want string) {
					if got != want {
						t.Errorf("%s: %s = %q, want %q", w.corr, field, got, want)
					}
				}
				check("family", g.family, w.family)
				check("IP protocol", g.ipProto, "6")
				check("source", g.src.String(), w.src.String())
				check("destination", g.dst.String(), w.dst.String())
				check("seconds", g.sec, w.sec)
				check("microseconds", g.usec, w.usec)
				check("proto type", g.protoType, w.protoType)
				check("capture id", g.captureID, "4242")
				check("auth key", g.authKey, "k3y")
				check("payload", g.payload, w.payload)
			}
			if len(got) != len(want) {
				t.Errorf("Kamailio decoded %d packets, %d were sent", len(got), len(want))
			}
		})
	}
}
