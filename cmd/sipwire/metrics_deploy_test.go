package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/sipwire/sipwire/hep"
)

// metricFamilies starts sipwire with every exporter (HEP, OpenTelemetry
// towards a port nobody listens on, the history) and the web server, and
// returns the names /metrics serves, linted by promlint.
func metricFamilies(t *testing.T) map[string]bool {
	t.Helper()
	col := serveHEP(t, 1<<20, func(*hep.Packet) {})
	cfg := testConfig(t, col.LocalAddr().String(), "http://127.0.0.1:"+itoa(freeTCPPort(t)))
	cfg.History.Enabled = true
	cfg.History.Path = filepath.Join(t.TempDir(), "history.db")
	cfg.Forward.URI = "sip:127.0.0.1:" + itoa(freeTCPPort(t)) + ";transport=tcp"
	webAddr := "127.0.0.1:" + itoa(freeTCPPort(t))
	a := startWebApp(t, cfg, webAddr)
	defer stopApp(t, a)
	optionsConn(t, a.listeners[0].String(), "metrics-1").Close()
	// Some families (the TCP_INFO histograms) exist once a connection has
	// closed with the kernel's figures: wait for them before reading
	// /metrics (the failed connect to the upstream closes first, with none).
	waitFor(t, "a connection's figures at close", func() bool { return len(a.tr.Stats().TCPHistograms) > 0 })

	body := httpGet(t, "http://"+webAddr+"/metrics")
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	problems, err := testutil.GatherAndLint(a.web.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	names := map[string]bool{}
	for name, mf := range fams {
		names[name] = true
		if mf.GetType().String() == "HISTOGRAM" {
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		}
	}
	return names
}

func itoa(n int) string { return strconv.Itoa(n) }

// promNames are the metric names an expression refers to: identifiers
// that start with sipwire_, go_ or process_.
var promNames = regexp.MustCompile(`\b(?:sipwire|go|process)_[a-zA-Z0-9_]+`)

// TestDeployMetrics: every metric the Grafana dashboard and the Prometheus
// alert rules in deploy/ name is one /metrics serves, and the dashboard
// is valid JSON with a panel per query.
func TestDeployMetrics(t *testing.T) {
	names := metricFamilies(t)
	check := func(file, expr string) {
		for _, n := range promNames.FindAllString(expr, -1) {
			if !names[n] {
				t.Errorf("%s: %q names %s, which /metrics does not serve", file, expr, n)
			}
		}
	}
	const dash = "../../deploy/grafana/sipwire-dashboard.json"
	b, err := os.ReadFile(dash)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dash, err)
	}
	queries := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dash, p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			check(dash, tg.Expr)
		}
	}
	if d.Title == "" || d.UID == "" || queries < 8 {
		t.Errorf("%s: title %q, uid %q, %d queries", dash, d.Title, d.UID, queries)
	}

	const rules = "../../deploy/prometheus/sipwire-alerts.yml"
	b, err = os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", rules, err)
	}
	var alerts []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			alerts = append(alerts, rule.Alert)
			if rule.Alert == "" || rule.Expr == "" || rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("%s: rule %+v lacks alert, expr, severity or summary", rules, rule)
			}
			check(rules, rule.Expr)
		}
	}
	for _, want := range []string{"SipwireUpstreamConnectFailures", "SipwireHEPDestinationDown", "SipwireHistoryDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s: no %s alert (have %v)", rules, want, alerts)
		}
	}
}
