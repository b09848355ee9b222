package deploy

import (
	"fmt"
	"os"
	"sort"
	"testing"
)

// freeKeys marks a section whose keys are the user's names (routes, headers).
const freeKeys = "free"

// configSchema is the key tree of sipwire.yaml as agreed in the config schema
// (OpenSIPS names at the top level, sipwire's own settings in sections).
var configSchema = map[string]any{
	"socket":                          nil,
	"tcp_port":                        nil,
	"tcp_send_timeout":                nil,
	"tcp_max_msg_chunks":              nil,
	"tcp_crlf_pingpong":               nil,
	"tcp_crlf_drop":                   nil,
	"tcp_async":                       nil,
	"tcp_async_max_postponed_chunks":  nil,
	"tcp_async_local_connect_timeout": nil,
	"tcp_async_local_write_timeout":   nil,
	"tcp_parallel_handling":           nil,
	"tcp_max_connections":             nil,
	"tcp_connection_lifetime":         nil,
	"tcp_max_msg_time":                nil,
	"tcp_max_msg_size":                nil,
	"trace_on":                        nil,
	"trace_destination":               nil,
	"trace_filter_route":              nil,
	"hep_id":                          nil,
	"hep_capture_id":                  nil,
	"route":                           freeKeys,
	"hep": map[string]any{
		"format": nil, "opensips_payload": nil, "trace_messages": nil, "capture_node": nil,
		"auth_key": nil, "queue_size": nil, "tls_ca": nil,
	},
	"forward": map[string]any{"uri": nil, "record_route": nil},
	"web": map[string]any{
		"listen": nil, "token": nil, "allowed_hosts": nil, "allowed_origins": nil, "event_ring": nil,
	},
	"otel": map[string]any{
		"endpoint": nil, "protocol": nil, "service_name": nil, "insecure": nil, "headers": freeKeys,
	},
	"history": map[string]any{
		"enabled": nil, "path": nil, "record_untraced": nil, "retention": nil, "max_size": nil,
		"flush_interval": nil, "queue_size": nil,
	},
	"log": map[string]any{"level": nil, "format": nil},
}

// unknownKeys lists the keys of cfg (dotted paths) that the schema does not have.
func unknownKeys(prefix string, cfg map[string]any, schema map[string]any) []string {
	var bad []string
	for key, value := range cfg {
		sub, known := schema[key]
		if !known {
			bad = append(bad, prefix+key)
			continue
		}
		section, isSection := sub.(map[string]any)
		if !isSection {
			continue
		}
		switch v := value.(type) {
		case map[string]any:
			bad = append(bad, unknownKeys(prefix+key+".", v, section)...)
		case nil:
		default:
			// "history: off" is the one scalar a section accepts.
			if key != "history" || fmt.Sprint(v) != "off" {
				bad = append(bad, fmt.Sprintf("%s%s (a %T, want a section)", prefix, key, v))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// deployConfig is one sipwire.yaml shipped in the deployment files.
type deployConfig struct {
	Name string
	Data []byte
}

// deployConfigs returns every sipwire.yaml the deployment files ship.
func deployConfigs(t *testing.T) []deployConfig {
	t.Helper()
	container, err := os.ReadFile("sipwire.container.yaml")
	if err != nil {
		t.Fatalf("read container config: %v", err)
	}
	return []deployConfig{
		{Name: "deploy/sipwire.container.yaml", Data: container},
		{Name: "deploy/k8s/configmap.yaml sipwire.yaml", Data: []byte(configMapConfig(t))},
	}
}

func TestDeployConfigsUseOnlySchemaKeys(t *testing.T) {
	for _, c := range deployConfigs(t) {
		t.Run(c.Name, func(t *testing.T) {
			docs, err := decodeYAMLDocs(c.Data)
			if err != nil || len(docs) != 1 {
				t.Fatalf("parse: %d documents, %v", len(docs), err)
			}
			cfg := docs[0]
			if bad := unknownKeys("", cfg, configSchema); len(bad) > 0 {
				t.Errorf("keys not in the config schema: %v", bad)
			}
			checkHEPDestination(t, cfg)
			for _, s := range stringList(digList(cfg, "socket")) {
				socketPort(t, s)
			}
			if got := digString(cfg, "web", "token"); got != "" {
				t.Errorf("web.token is set in a config file (%q); it belongs in SIPWIRE_WEB_TOKEN", got)
			}
		})
	}
}

// checkHEPDestination checks that every hep_id parses and that
// trace_destination names one of them.
func checkHEPDestination(t *testing.T, cfg map[string]any) []hepID {
	t.Helper()
	var ids []hepID
	names := map[string]bool{}
	for _, s := range stringList(digList(cfg, "hep_id")) {
		id, err := parseHEPID(s)
		if err != nil {
			t.Fatal(err)
		}
		if id.Version != "3" {
			t.Errorf("hep_id %q: version %s, want 3", s, id.Version)
		}
		ids = append(ids, id)
		names[id.Name] = true
	}
	if len(ids) == 0 {
		t.Fatal("no hep_id")
	}
	if dest := digString(cfg, "trace_destination"); !names[dest] {
		t.Errorf("trace_destination %q names no hep_id (have %v)", dest, names)
	}
	return ids
}

func TestUnknownKeysFindsTypos(t *testing.T) {
	cfg := map[string]any{
		"tcp_port":           5060,
		"tcp_max_conections": 10,
		"web":                map[string]any{"listen": "x", "tokn": "y"},
		"route":              map[string]any{"anything": "drop;"},
		"history":            "off",
		"log":                "debug",
	}
	got := fmt.Sprint(unknownKeys("", cfg, configSchema))
	want := "[log (a string, want a section) tcp_max_conections web.tokn]"
	if got != want {
		t.Errorf("unknownKeys = %s, want %s", got, want)
	}
}
