package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
)

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
		{Name: "deploy/k8s/configmap.yaml:sipwire.yaml", Data: []byte(configMapConfig(t))},
	}
}

func TestDeployConfigsParse(t *testing.T) {
	for _, c := range deployConfigs(t) {
		t.Run(c.Name, func(t *testing.T) {
			// sipwire's own parser: unknown keys, wrong types and bad values fail.
			if _, err := config.Parse(c.Data, c.Name); err != nil {
				t.Fatalf("config.Parse: %v", err)
			}
			docs, err := decodeYAMLDocs(c.Data)
			if err != nil || len(docs) != 1 {
				t.Fatalf("parse: %d documents, %v", len(docs), err)
			}
			cfg := docs[0]
			checkHEPDestination(t, cfg)
			if got := digString(cfg, "web", "token"); got != "" {
				t.Errorf("web.token is set in a config file (%q); it belongs in SIPWIRE_WEB_TOKEN", got)
			}
			if listen := digString(cfg, "web", "listen"); !strings.HasPrefix(listen, "0.0.0.0:") {
				t.Errorf("web.listen %q: in a container it must bind 0.0.0.0 to be reachable", listen)
			}
		})
	}
}

func TestDeployFlagValuesParse(t *testing.T) {
	// The Deployment's -listen, with the pod IP that Kubernetes substitutes.
	listen := flagValue(stringList(digList(loadManifests(t).container(t), "args")), "-listen")
	if _, err := transport.ParseSocket(strings.ReplaceAll(listen, "$(POD_IP)", "10.1.2.3"), 5060); err != nil {
		t.Errorf("Deployment -listen %q: %v", listen, err)
	}
	// docker-compose.yml's -listen and -forward (at its default).
	compose := loadCompose(t)
	for _, s := range compose.sipwireSockets(t) {
		if _, err := transport.ParseSocket(s, 5060); err != nil {
			t.Errorf("docker-compose.yml -listen %q: %v", s, err)
		}
	}
	forward := flagValue(commandArgs(compose.service(t, "sipwire")), "-forward")
	if err := config.CheckForwardURI(forward); err != nil {
		t.Errorf("docker-compose.yml -forward %q: %v", forward, err)
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
