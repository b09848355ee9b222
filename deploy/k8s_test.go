package deploy

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// manifests holds every object of deploy/k8s, by "Kind/name".
type manifests map[string]map[string]any

func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	m := manifests{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, doc := range readYAMLDocs(t, f) {
			kind, name := digString(doc, "kind"), digString(doc, "metadata", "name")
			if kind == "" || name == "" || digString(doc, "apiVersion") == "" {
				t.Fatalf("%s: an object without apiVersion, kind or metadata.name", f)
			}
			key := kind + "/" + name
			if _, dup := m[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			m[key] = doc
		}
	}
	return m
}

// get returns one object; the test fails when it is missing.
func (m manifests) get(t *testing.T, kind, name string) map[string]any {
	t.Helper()
	obj, ok := m[kind+"/"+name]
	if !ok {
		t.Fatalf("deploy/k8s has no %s %s", kind, name)
	}
	return obj
}

// container returns the sipwire container of the Deployment.
func (m manifests) container(t *testing.T) map[string]any {
	t.Helper()
	for _, c := range digList(m.get(t, "Deployment", "sipwire"), "spec", "template", "spec", "containers") {
		if digString(c, "name") == "sipwire" {
			return c.(map[string]any)
		}
	}
	t.Fatal("the Deployment has no container named sipwire")
	return nil
}

// containerPort resolves a port (number or name) of the sipwire container.
func (m manifests) containerPort(t *testing.T, port any) int {
	t.Helper()
	for _, p := range digList(m.container(t), "ports") {
		n, _ := strconv.Atoi(digString(p, "containerPort"))
		if fmt.Sprint(port) == digString(p, "name") || fmt.Sprint(port) == strconv.Itoa(n) {
			return n
		}
	}
	t.Fatalf("the sipwire container has no port %v", port)
	return 0
}

// envVar returns the sipwire container's env entry called name.
func (m manifests) envVar(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, e := range digList(m.container(t), "env") {
		if digString(e, "name") == name {
			return e.(map[string]any)
		}
	}
	return nil
}

// configMapConfig returns the sipwire.yaml held by the ConfigMap.
func configMapConfig(t *testing.T) string {
	t.Helper()
	cm := loadManifests(t).get(t, "ConfigMap", "sipwire-config")
	cfg := digString(cm, "data", "sipwire.yaml")
	if cfg == "" {
		t.Fatal("ConfigMap sipwire-config has no data sipwire.yaml")
	}
	return cfg
}

// parsedConfigMapConfig is configMapConfig decoded.
func parsedConfigMapConfig(t *testing.T) map[string]any {
	t.Helper()
	docs, err := decodeYAMLDocs([]byte(configMapConfig(t)))
	if err != nil || len(docs) != 1 {
		t.Fatalf("ConfigMap sipwire.yaml: %d documents, %v", len(docs), err)
	}
	return docs[0]
}

// labelsMatch reports whether every label of selector is in labels.
func labelsMatch(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if fmt.Sprint(labels[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

func TestK8sKustomizationListsEveryManifest(t *testing.T) {
	k := readYAML(t, filepath.Join("k8s", "kustomization.yaml"))
	listed := stringList(digList(k, "resources"))
	files, _ := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && !slices.Contains(listed, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range listed {
		if _, err := os.Stat(filepath.Join("k8s", r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	kinds := map[string]bool{}
	for key := range loadManifests(t) {
		kind, _, _ := strings.Cut(key, "/")
		kinds[kind] = true
	}
	for _, want := range []string{"Deployment", "ConfigMap", "Secret", "Service", "PodDisruptionBudget"} {
		if !kinds[want] {
			t.Errorf("no %s in deploy/k8s", want)
		}
	}
}

func TestK8sImagesPinned(t *testing.T) {
	m := loadManifests(t)
	spec := digMap(m.get(t, "Deployment", "sipwire"), "spec", "template", "spec")
	for _, list := range []string{"initContainers", "containers"} {
		for _, c := range digList(spec, list) {
			if why := pinnedRef(digString(c, "image")); why != "" {
				t.Errorf("container %s: image %q is not pinned: %s", digString(c, "name"), digString(c, "image"), why)
			}
		}
	}
}

func TestK8sProbesHitHealthzOnTheWebPort(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	_, webPort := hostPort(t, "web.listen", digString(parsedConfigMapConfig(t), "web", "listen"))
	for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
		get := digMap(c, probe, "httpGet")
		if get == nil {
			if probe == "startupProbe" {
				continue
			}
			t.Errorf("%s is not an httpGet probe", probe)
			continue
		}
		if p := digString(get, "path"); p != "/healthz" {
			t.Errorf("%s path %q, want /healthz", probe, p)
		}
		if port := m.containerPort(t, get["port"]); port != webPort {
			t.Errorf("%s port %d, but web.listen is on %d", probe, port, webPort)
		}
		if s := digString(get, "scheme"); s != "" && s != "HTTP" {
			t.Errorf("%s scheme %q, want HTTP", probe, s)
		}
		// With web.allowed_hosts set, the web API refuses the pod IP a probe
		// sends as Host by default; localhost is always allowed.
		host := ""
		for _, h := range digList(get, "httpHeaders") {
			if strings.EqualFold(digString(h, "name"), "Host") {
				host = digString(h, "value")
			}
		}
		if host != "localhost" && !strings.HasPrefix(host, "localhost:") {
			t.Errorf("%s sends Host %q, which web.allowed_hosts may refuse; want localhost", probe, host)
		}
	}
	if digMap(c, "readinessProbe") == nil || digMap(c, "livenessProbe") == nil {
		t.Error("want both a readiness and a liveness probe")
	}
}

func TestK8sWebTokenComesFromSecret(t *testing.T) {
	m := loadManifests(t)
	e := m.envVar(t, "SIPWIRE_WEB_TOKEN")
	if e == nil {
		t.Fatal("the sipwire container has no SIPWIRE_WEB_TOKEN")
	}
	if _, literal := e["value"]; literal {
		t.Error("SIPWIRE_WEB_TOKEN has a literal value; want valueFrom.secretKeyRef")
	}
	ref := digMap(e, "valueFrom", "secretKeyRef")
	if ref == nil {
		t.Fatal("SIPWIRE_WEB_TOKEN does not come from a secretKeyRef")
	}
	secret := m.get(t, "Secret", digString(ref, "name"))
	key := digString(ref, "key")
	value := digString(secret, "stringData", key)
	if value == "" && digString(secret, "data", key) == "" {
		t.Errorf("Secret %s has no key %q", digString(ref, "name"), key)
	}
	if !strings.Contains(value, "REPLACE") {
		t.Errorf("the example Secret's token %q does not read as a placeholder", value)
	}
	if digString(ref, "optional") == "true" {
		t.Error("the token is optional; sipwire must not start on 0.0.0.0 without it")
	}
}

func TestK8sSelectorsMatchThePods(t *testing.T) {
	m := loadManifests(t)
	d := m.get(t, "Deployment", "sipwire")
	podLabels := digMap(d, "spec", "template", "metadata", "labels")
	selector := digMap(d, "spec", "selector", "matchLabels")
	if !labelsMatch(selector, podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", selector, podLabels)
	}
	pdb := m.get(t, "PodDisruptionBudget", "sipwire")
	if sel := digMap(pdb, "spec", "selector", "matchLabels"); !labelsMatch(sel, podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not match the pod labels %v", sel, podLabels)
	}
	if digString(pdb, "spec", "maxUnavailable") == "" && digString(pdb, "spec", "minAvailable") == "" {
		t.Error("PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}
	replicas, _ := strconv.Atoi(digString(d, "spec", "replicas"))
	if min, err := strconv.Atoi(digString(pdb, "spec", "minAvailable")); err == nil && min >= replicas {
		t.Errorf("PodDisruptionBudget minAvailable %d with %d replicas blocks every drain", min, replicas)
	}
	for _, tsc := range digList(d, "spec", "template", "spec", "topologySpreadConstraints") {
		if sel := digMap(tsc, "labelSelector", "matchLabels"); !labelsMatch(sel, podLabels) {
			t.Errorf("topologySpreadConstraint selector %v does not match the pod labels", sel)
		}
	}

	services := map[string]int{"sipwire-sip": 0, "sipwire-web": 0}
	for key, obj := range m {
		if !strings.HasPrefix(key, "Service/") {
			continue
		}
		name := digString(obj, "metadata", "name")
		if sel := digMap(obj, "spec", "selector"); !labelsMatch(sel, podLabels) {
			t.Errorf("Service %s selector %v does not match the pod labels %v", name, sel, podLabels)
		}
		for _, p := range digList(obj, "spec", "ports") {
			if proto := digString(p, "protocol"); proto != "TCP" {
				t.Errorf("Service %s port %s: protocol %q, want TCP", name, digString(p, "name"), proto)
			}
			services[name] = m.containerPort(t, dig(p, "targetPort"))
		}
	}
	cfg := parsedConfigMapConfig(t)
	_, webPort := hostPort(t, "web.listen", digString(cfg, "web", "listen"))
	if services["sipwire-web"] != webPort {
		t.Errorf("Service sipwire-web targets port %d, web.listen is on %d", services["sipwire-web"], webPort)
	}
	if services["sipwire-sip"] != 5060 {
		t.Errorf("Service sipwire-sip targets port %d, want 5060", services["sipwire-sip"])
	}
}

func TestK8sConfigAndStateVolumes(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	args := stringList(digList(c, "args"))
	cfgPath := flagValue(args, "-config")
	if cfgPath == "" {
		t.Fatal("the sipwire container has no -config argument")
	}
	volumes := map[string]map[string]any{}
	for _, v := range digList(m.get(t, "Deployment", "sipwire"), "spec", "template", "spec", "volumes") {
		volumes[digString(v, "name")] = v.(map[string]any)
	}
	mounts := map[string]map[string]any{}
	for _, vm := range digList(c, "volumeMounts") {
		mounts[digString(vm, "mountPath")] = vm.(map[string]any)
	}

	cfgMount := mounts[path.Dir(cfgPath)]
	vol := volumes[digString(cfgMount, "name")]
	if digString(vol, "configMap", "name") != "sipwire-config" {
		t.Fatalf("%s is not mounted from ConfigMap sipwire-config", path.Dir(cfgPath))
	}
	if digString(cfgMount, "readOnly") != "true" {
		t.Error("the config mount is writable")
	}
	provides := false
	for _, item := range digList(vol, "configMap", "items") {
		if digString(item, "key") == "sipwire.yaml" && digString(item, "path") == path.Base(cfgPath) {
			provides = true
		}
	}
	if !provides && len(digList(vol, "configMap", "items")) == 0 {
		provides = path.Base(cfgPath) == "sipwire.yaml"
	}
	if !provides {
		t.Errorf("the ConfigMap volume does not provide %s", cfgPath)
	}

	// The root filesystem is read-only: the history and /tmp need volumes.
	history := path.Dir(digString(parsedConfigMapConfig(t), "history", "path"))
	for _, dir := range []string{history, "/tmp"} {
		vm := mounts[dir]
		if vm == nil || digString(vm, "readOnly") == "true" {
			t.Errorf("%s is not a writable volume mount", dir)
			continue
		}
		if volumes[digString(vm, "name")]["emptyDir"] == nil && volumes[digString(vm, "name")]["persistentVolumeClaim"] == nil {
			t.Errorf("%s is mounted from a volume that is neither emptyDir nor a claim", dir)
		}
	}
	if !strings.HasPrefix(flagValue(args, "-listen"), "tcp:$(POD_IP):") {
		t.Errorf("-listen %q: want tcp:$(POD_IP):PORT so Via and Record-Route carry the pod address", flagValue(args, "-listen"))
	}
	if digString(m.envVar(t, "POD_IP"), "valueFrom", "fieldRef", "fieldPath") != "status.podIP" {
		t.Error("POD_IP does not come from status.podIP")
	}
}

func TestK8sSecurityAndResources(t *testing.T) {
	m := loadManifests(t)
	spec := digMap(m.get(t, "Deployment", "sipwire"), "spec", "template", "spec")
	c := m.container(t)
	for _, check := range []struct {
		got, want, what string
	}{
		{digString(spec, "securityContext", "runAsNonRoot"), "true", "pod runAsNonRoot"},
		{digString(c, "securityContext", "runAsNonRoot"), "true", "container runAsNonRoot"},
		{digString(c, "securityContext", "readOnlyRootFilesystem"), "true", "readOnlyRootFilesystem"},
		{digString(c, "securityContext", "allowPrivilegeEscalation"), "false", "allowPrivilegeEscalation"},
		{fmt.Sprint(stringList(digList(c, "securityContext", "capabilities", "drop"))), "[ALL]", "capabilities.drop"},
		{digString(spec, "securityContext", "seccompProfile", "type"), "RuntimeDefault", "seccompProfile"},
		{digString(spec, "automountServiceAccountToken"), "false", "automountServiceAccountToken"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.what, check.got, check.want)
		}
	}
	if uid := digString(spec, "securityContext", "runAsUser"); uid == "" || uid == "0" {
		t.Errorf("runAsUser %q, want a non-zero uid", uid)
	}
	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		kind, res, _ := strings.Cut(r, ".")
		if digString(c, "resources", kind, res) == "" {
			t.Errorf("no resources.%s", r)
		}
	}
}

func TestK8sRollingUpdateDrains(t *testing.T) {
	m := loadManifests(t)
	d := m.get(t, "Deployment", "sipwire")
	if u := digString(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"); u != "0" {
		t.Errorf("rolling update maxUnavailable %q, want 0 (start the new pod before draining the old)", u)
	}
	if s := digString(m.container(t), "lifecycle", "preStop", "sleep", "seconds"); s == "" {
		t.Error("no preStop sleep: SIGTERM would arrive while the load balancer still sends new connections")
	}
}

func TestK8sHEPAndOTLPDestinations(t *testing.T) {
	m := loadManifests(t)
	for _, id := range checkHEPDestination(t, parsedConfigMapConfig(t)) {
		if id.Host == "127.0.0.1" || id.Host == "localhost" {
			t.Errorf("hep_id [%s] sends to %s, the pod itself", id.Name, id.Host)
		}
	}
	endpoint := digString(m.envVar(t, "OTEL_EXPORTER_OTLP_ENDPOINT"), "value")
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" || u.Port() == "" {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT %q: want http://HOST:PORT (%v)", endpoint, err)
	}
	want := map[string]string{"grpc": "4317", "http/protobuf": "4318"}[digString(m.envVar(t, "OTEL_EXPORTER_OTLP_PROTOCOL"), "value")]
	if u.Port() != want {
		t.Errorf("OTLP endpoint port %s does not match the protocol's port %q", u.Port(), want)
	}
}

// kustomizeModule is the kustomize that .ci/run installs from the Go module
// proxy (kustomize is no Debian package in bookworm).
const kustomizeModule = "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1"

func TestK8sKustomizeBuilds(t *testing.T) {
	kustomize, err := exec.LookPath("kustomize")
	if err != nil {
		testtool.Unavailable(t, "program kustomize", "go install "+kustomizeModule)
	}
	out, err := exec.Command(kustomize, "build", "k8s").CombinedOutput()
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s: %v\n%s", err, out)
	}
	docs, err := decodeYAMLDocs(out)
	if err != nil {
		t.Fatalf("kustomize output: %v", err)
	}
	if want := len(loadManifests(t)); len(docs) != want {
		t.Errorf("kustomize built %d objects, deploy/k8s defines %d", len(docs), want)
	}
}
