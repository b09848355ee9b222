package main

import (
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/web"
)

// The exporters' states reach /metrics through the stats map: a HEP
// destination on a refused UDP port is down there, and the OTel exporter's
// state is there too.
func TestExporterStatesInMetrics(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	hepAddr := c.LocalAddr().String()
	c.Close() // refused from now on
	a := startApp(t, testConfig(t, hepAddr, "http://"+freeAddr(t)))
	defer stopApp(t, a)
	deadline := time.Now().Add(10 * time.Second)
	for a.hep.Stats()[0].State.Up {
		if time.Now().After(deadline) {
			t.Fatal("the HEP destination is still up after 10 s of refusals")
		}
		optionsOver(t, a, "state-metrics")
		time.Sleep(10 * time.Millisecond)
	}
	got := map[string]float64{}
	m := a.stats()
	for _, name := range []string{"hep", "otel"} {
		for _, s := range web.FlattenMetrics("sipwire_"+name, m[name]) {
			got[s.Name] = s.Value
		}
	}
	for name, want := range map[string]float64{
		"sipwire_hep_destinations_state_up":                      0,
		"sipwire_hep_destinations_state_outages_total":           1,
		"sipwire_otel_state_up":                                  1, // nothing exported yet: no failure
		"sipwire_otel_state_outages_total":                       0,
		"sipwire_hep_destinations_state_since_timestamp_seconds": -1,
	} {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("no %s in the metrics", name)
		case want >= 0 && v != want:
			t.Errorf("%s = %v, want %v", name, v, want)
		case want < 0 && v < float64(time.Now().Add(-time.Minute).Unix()):
			t.Errorf("%s = %v, want a time within the last minute", name, v)
		}
	}
}
