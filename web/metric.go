package web

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetricType is a Prometheus metric type.
type MetricType string

// The metric types /metrics writes.
const (
	Counter   MetricType = "counter"
	Gauge     MetricType = "gauge"
	Histogram MetricType = "histogram" // Metric.Hist holds the sample
)

// Label is one label of a sample.
type Label struct {
	Name, Value string
}

// Metric is one sample for /metrics. Samples of one Name must share Help and
// Type; counters' names end in _total.
type Metric struct {
	Name   string
	Help   string
	Type   MetricType
	Labels []Label
	Value  float64
	// Hist is the sample of a Histogram (Value unused).
	Hist *HistogramSample
}

var nonMetricChars = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// metricName turns a JSON key path into a Prometheus name part.
func metricName(s string) string {
	return strings.Trim(strings.ToLower(nonMetricChars.ReplaceAllString(s, "_")), "_")
}

// Words of a stats field's path (its JSON keys joined by "_") that decide
// its type: a count word anywhere makes a counter ("drops_not_connected");
// otherwise a level word anywhere, or a last word that names a level, makes
// a gauge ("queue_bytes", "size_bytes", "open_connections", "queue_cap",
// "events_stored").
var (
	countWords     = []string{"drops", "dropped", "total", "count", "sent", "received", "errors", "failures", "reconnects", "evicted", "exported", "written", "flushed", "retries"}
	levelWords     = []string{"queue", "open", "inflight", "pending", "active", "size"}
	lastLevelWords = []string{"len", "length", "cap", "capacity", "depth", "connected", "enabled", "up", "max", "min", "queued", "forwarding", "clients", "current", "stored", "run", "workers"}
)

func isGaugePath(path string) bool {
	words := strings.Split(path, "_")
	for _, w := range words {
		if slices.Contains(countWords, w) {
			return false
		}
	}
	for _, w := range words {
		if slices.Contains(levelWords, w) {
			return true
		}
	}
	return slices.Contains(lastLevelWords, words[len(words)-1])
}

// labelName turns an array's key into a label name: "destinations" ->
// "destination".
func labelName(key string) string {
	if len(key) > 3 && strings.HasSuffix(key, "s") && !strings.HasSuffix(key, "ss") {
		return key[:len(key)-1]
	}
	return key
}

// FlattenMetrics derives samples from a JSON-marshalable stats value: every
// number and boolean becomes a sample named prefix_path (path = the JSON
// keys joined by "_"). A path with no count word (drops, sent, errors,
// failures, ...) but a level word (queue, open, pending, size, ...) or a
// last word naming a level (len, cap, connected, stored, ...) is a gauge;
// any other number is a counter with the suffix _total; booleans are gauges
// of 0 or 1. A string holding an RFC 3339 time is a gauge of its Unix time
// in seconds, named prefix_path_timestamp_seconds (prefix_path_seconds when
// the path ends in "time"); other strings are left out. The elements of an
// array of objects are told apart by a label named after the array
// (singular) with their "name" field (or their index) as value. Exporters
// that need exact names and help texts give Deps.Metrics.
func FlattenMetrics(prefix string, v any) []Metric {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&tree) != nil {
		return nil
	}
	var out []Metric
	flatten(&out, metricName(prefix), "", "", tree, nil)
	return out
}

// flatten walks v; name is the metric name so far, path the keys below the
// prefix, key the last one.
func flatten(out *[]Metric, name, path, key string, v any, labels []Label) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k == "name" {
				continue
			}
			mk := metricName(k)
			flatten(out, name+"_"+mk, strings.TrimPrefix(path+"_"+mk, "_"), mk, x[k], labels)
		}
	case []any:
		for i, el := range x {
			id := strconv.Itoa(i)
			if m, ok := el.(map[string]any); ok {
				if n, ok := m["name"].(string); ok {
					id = n
				}
			}
			flatten(out, name, path, key, el, append(slices.Clip(labels), Label{Name: labelName(key), Value: id}))
		}
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return
		}
		m := Metric{Name: name, Type: Counter, Labels: labels, Value: f}
		if isGaugePath(path) {
			m.Type = Gauge
		} else if !strings.HasSuffix(m.Name, "_total") {
			m.Name += "_total"
		}
		m.Help = "sipwire stats field " + strings.TrimPrefix(name, "sipwire_")
		*out = append(*out, m)
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return
		}
		if strings.HasSuffix(name, "_time") {
			name += "_seconds"
		} else {
			name += "_timestamp_seconds"
		}
		*out = append(*out, Metric{Name: name, Help: "sipwire stats field " + strings.TrimPrefix(name, "sipwire_") + " (Unix time)",
			Type: Gauge, Labels: labels, Value: float64(t.UnixMicro()) / 1e6})
	case bool:
		f := 0.0
		if x {
			f = 1
		}
		*out = append(*out, Metric{Name: name, Help: "sipwire stats field " + strings.TrimPrefix(name, "sipwire_"), Type: Gauge, Labels: labels, Value: f})
	}
}
