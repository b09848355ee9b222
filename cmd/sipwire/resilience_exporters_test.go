//go:build resilience

package main

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exporterStates is what /api/v1/stats says of the exporters' states.
type exporterStates struct {
	Exporters struct {
		HEP struct {
			Destinations []struct {
				State struct {
					Up      bool   `json:"up"`
					Outages uint64 `json:"outages"`
					Error   string `json:"last_error"`
				} `json:"state"`
				PacketsSent uint64 `json:"packets_sent"`
			} `json:"destinations"`
		} `json:"hep"`
		OTel struct {
			State struct {
				Up      bool   `json:"up"`
				Outages uint64 `json:"outages"`
				Error   string `json:"last_error"`
			} `json:"state"`
			SpansExported uint64 `json:"spans_exported"`
		} `json:"otel"`
	} `json:"exporters"`
}

// The HEP collector (UDP: a refused port; TCP: a closed one) and the OTLP
// collector (gRPC; HTTP) are down when sipwire starts under SIP load, then
// come back: each exporter's state goes down with one log line and up with
// one more within 5 s of its collector's return, and every SIP request is
// answered throughout.
func TestResilienceExportersDownThenBack(t *testing.T) {
	cases := []struct{ hep, otlp string }{
		{"udp", "grpc"},
		{"tcp", "http/protobuf"},
	}
	for _, tc := range cases {
		t.Run(tc.hep+"_"+strings.ReplaceAll(tc.otlp, "/", "_"), func(t *testing.T) {
			exportersDownThenBack(t, tc.hep, tc.otlp)
		})
	}
}

func exportersDownThenBack(t *testing.T, hepTransport, otlpProtocol string) {
	const (
		safety  = 30 * time.Second // bounds every wait: a hang, not a speed check
		backMax = 5 * time.Second
	)
	// An export try gives up after 2 s, so that the OTLP outage shows soon.
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	hepAddr := freeAddr(t)
	if hepTransport == "udp" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		hepAddr = c.LocalAddr().String()
		c.Close()
	}
	otlpAddr := freeAddr(t)
	recv := newOTLPCounter(t, otlpAddr)
	recv.grpc = otlpProtocol == "grpc"
	endpoint := otlpAddr
	if !recv.grpc {
		endpoint = "http://" + otlpAddr
	}
	cfgPath := filepath.Join(t.TempDir(), "sipwire.yaml")
	cfgText := "hep_id:\n  - '[t] " + hepAddr + "; transport=" + hepTransport + "; version=3'\ntrace_destination: t\n" +
		"otel:\n  endpoint: " + endpoint + "\n  protocol: " + otlpProtocol + "\n  insecure: true\n  open_span_delay: 0s\n" +
		"history:\n  enabled: false\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startSipwire(t, "-config", cfgPath)
	states := func() exporterStates {
		var s exporterStates
		in.getJSON(t, "/api/v1/stats", &s)
		return s
	}
	lines := func(what string) int { return strings.Count(in.stderr.String(), what) }
	const (
		hepDown  = "hep: collector unreachable"
		hepUp    = "hep: collector reachable again"
		otelDown = "otel: OTLP collector unreachable"
		otelUp   = "otel: OTLP collector reachable again"
	)

	stop := pingers(in.sip, "states", 4, 5, 0)
	waitUntil(t, "both states down", safety, func() bool {
		s := states().Exporters
		return !s.HEP.Destinations[0].State.Up && !s.OTel.State.Up
	})
	time.Sleep(time.Second) // reconnects, probes and retries go on
	s := states().Exporters
	if h, o := s.HEP.Destinations[0].State, s.OTel.State; h.Outages != 1 || h.Error == "" || o.Outages != 1 || o.Error == "" {
		t.Errorf("down: hep %+v, otel %+v; want one outage each, with its error", h, o)
	}
	if h := s.HEP.Destinations[0].PacketsSent; h != 0 {
		t.Errorf("%d HEP packets counted as sent to a collector that is not there", h)
	}

	if hepTransport == "udp" {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(hepAddr)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, _, err := c.ReadFromUDP(buf); err != nil {
					return
				}
			}
		}()
	} else {
		newTCPCollector(t, hepAddr).start()
	}
	recv.start()
	back := time.Now()
	var hepBack, otelBack time.Duration
	waitUntil(t, "both states up", safety, func() bool {
		s := states().Exporters
		if hepBack == 0 && s.HEP.Destinations[0].State.Up {
			hepBack = time.Since(back)
		}
		if otelBack == 0 && s.OTel.State.Up {
			otelBack = time.Since(back)
		}
		return hepBack > 0 && otelBack > 0
	})
	if hepBack > backMax || otelBack > backMax {
		t.Errorf("up again %v (HEP) and %v (OTLP) after the collectors came back, want within %v", hepBack, otelBack, backMax)
	}
	time.Sleep(time.Second)
	for _, p := range stop() {
		p.check(t)
	}
	for what, want := range map[string]int{hepDown: 1, hepUp: 1, otelDown: 1, otelUp: 1} {
		if got := lines(what); got != want {
			t.Errorf("%d log lines %q, want %d", got, what, want)
		}
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	t.Logf("HEP over %s up %v, OTLP over %s up %v after their collectors came back; the receiver got %d spans",
		hepTransport, hepBack.Round(time.Millisecond), otlpProtocol, otelBack.Round(time.Millisecond), recv.spans.Load())
}
