package deploy

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// composeEnv is the environment the compose file is read with: the one
// required variable set, every other one at its default.
var composeEnv = map[string]string{"SIPWIRE_WEB_TOKEN": "test-token"}

// composeFile is docker-compose.yml, decoded and interpolated.
type composeFile struct {
	Raw      map[string]any // as written, before interpolation
	Doc      map[string]any
	Services map[string]map[string]any
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw := readYAML(t, repoPath("docker-compose.yml"))
	tree, err := interpolateTree(raw, composeEnv)
	if err != nil {
		t.Fatalf("interpolate docker-compose.yml: %v", err)
	}
	doc := tree.(map[string]any)
	c := composeFile{Raw: raw, Doc: doc, Services: map[string]map[string]any{}}
	for name, svc := range digMap(doc, "services") {
		m, ok := svc.(map[string]any)
		if !ok {
			t.Fatalf("service %s is a %T, want a map", name, svc)
		}
		c.Services[name] = m
	}
	return c
}

// service returns a service's definition; the test fails when it is missing.
func (c composeFile) service(t *testing.T, name string) map[string]any {
	t.Helper()
	svc, ok := c.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return svc
}

// serviceEnv returns a service's environment (map or KEY=VALUE list syntax).
func serviceEnv(svc map[string]any) map[string]string {
	env := map[string]string{}
	switch e := svc["environment"].(type) {
	case map[string]any:
		for k, v := range e {
			if v != nil {
				env[k] = fmt.Sprint(v)
			}
		}
	case []any:
		for _, kv := range stringList(e) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	return env
}

// commandArgs returns a service's command as a list (string form split on spaces).
func commandArgs(svc map[string]any) []string {
	switch cmd := svc["command"].(type) {
	case []any:
		return stringList(cmd)
	case string:
		return strings.Fields(cmd)
	}
	return nil
}

// flagValue returns the argument that follows flag in args, or "".
func flagValue(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// mount is one entry of a service's volumes.
type mount struct {
	Source, Target string
	Bind           bool
	ReadOnly       bool
}

func serviceMounts(t *testing.T, svc map[string]any) []mount {
	t.Helper()
	var out []mount
	for _, v := range digList(svc, "volumes") {
		switch m := v.(type) {
		case string:
			parts := strings.Split(m, ":")
			if len(parts) < 2 {
				t.Fatalf("volume %q: want SOURCE:TARGET[:MODE]", m)
			}
			src := parts[0]
			out = append(out, mount{
				Source:   src,
				Target:   parts[1],
				Bind:     strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/"),
				ReadOnly: len(parts) > 2 && strings.Contains(parts[2], "ro"),
			})
		case map[string]any:
			out = append(out, mount{
				Source:   digString(m, "source"),
				Target:   digString(m, "target"),
				Bind:     digString(m, "type") == "bind",
				ReadOnly: digString(m, "read_only") == "true",
			})
		}
	}
	return out
}

// boundFile returns the repository path of the file bind-mounted at target.
func boundFile(t *testing.T, svc map[string]any, target string) string {
	t.Helper()
	for _, m := range serviceMounts(t, svc) {
		if m.Target == target {
			if !m.Bind {
				t.Fatalf("%s is mounted from volume %q, want a file of the repository", target, m.Source)
			}
			if !m.ReadOnly {
				t.Errorf("%s is mounted read-write, want :ro", target)
			}
			p := repoPath(filepath.FromSlash(m.Source))
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("mount source of %s: %v", target, err)
			}
			return p
		}
	}
	t.Fatalf("nothing is mounted at %s", target)
	return ""
}

// publishedPort is one entry of a service's ports.
type publishedPort struct {
	Spec          string
	HostIP        string
	ContainerPort int
	Protocol      string
}

var shortPort = regexp.MustCompile(`^(?:(\d+\.\d+\.\d+\.\d+|\[[0-9A-Fa-f:]+\]):)?(?:(\d+(?:-\d+)?):)?(\d+)(?:/(tcp|udp|sctp))?$`)

func servicePorts(t *testing.T, svc map[string]any) []publishedPort {
	t.Helper()
	var out []publishedPort
	for _, v := range digList(svc, "ports") {
		switch p := v.(type) {
		case map[string]any:
			target, err := strconv.Atoi(digString(p, "target"))
			if err != nil {
				t.Fatalf("port %v: target: %v", p, err)
			}
			proto := digString(p, "protocol")
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, publishedPort{Spec: fmt.Sprint(p), HostIP: digString(p, "host_ip"), ContainerPort: target, Protocol: proto})
		default:
			spec := fmt.Sprint(p)
			m := shortPort.FindStringSubmatch(spec)
			if m == nil {
				t.Fatalf("port %q: not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]", spec)
			}
			target, _ := strconv.Atoi(m[3])
			proto := m[4]
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, publishedPort{Spec: spec, HostIP: strings.Trim(m[1], "[]"), ContainerPort: target, Protocol: proto})
		}
	}
	return out
}

// sipwireConfig returns the config file that the compose sipwire service reads.
func (c composeFile) sipwireConfig(t *testing.T) map[string]any {
	t.Helper()
	svc := c.service(t, "sipwire")
	cfgPath := flagValue(commandArgs(svc), "-config")
	if cfgPath == "" {
		t.Fatal("sipwire's command has no -config")
	}
	return readYAML(t, boundFile(t, svc, cfgPath))
}

// sipwireSockets returns the SIP sockets of the compose sipwire service: its
// -listen flags, which replace the config's socket list, or that list.
func (c composeFile) sipwireSockets(t *testing.T) []string {
	t.Helper()
	args := commandArgs(c.service(t, "sipwire"))
	var listen []string
	for i, a := range args {
		if a == "-listen" && i+1 < len(args) {
			listen = append(listen, args[i+1])
		}
	}
	if len(listen) > 0 {
		return listen
	}
	return stringList(digList(c.sipwireConfig(t), "socket"))
}

// composeServiceKeys are the service attributes of the Compose specification.
var composeServiceKeys = []string{
	"annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
	"command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
	"cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "depends_on",
	"deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
	"entrypoint", "env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
	"group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation", "label_file", "labels",
	"links", "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit",
	"models", "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
	"platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
	"read_only", "restart", "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open",
	"stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits",
	"use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
}

func TestComposeServicesAndKeys(t *testing.T) {
	c := loadCompose(t)
	for key := range c.Raw {
		if !slices.Contains([]string{"name", "services", "volumes", "networks", "configs", "secrets", "include", "models"}, key) &&
			!strings.HasPrefix(key, "x-") {
			t.Errorf("top-level key %q is not in the Compose specification", key)
		}
	}
	profiles := map[string][]string{
		"sipwire": nil, "heplify-server": nil, "homer-app": nil, "homer-db": nil,
		"otel-collector": nil, "jaeger": nil, "sipp-uas": {"sipp"}, "sipp-uac": {"sipp"},
	}
	for name, want := range profiles {
		svc := c.service(t, name)
		if got := stringList(digList(svc, "profiles")); !slices.Equal(got, want) {
			t.Errorf("service %s: profiles %v, want %v", name, got, want)
		}
	}
	for name, svc := range c.Services {
		for key := range svc {
			if !slices.Contains(composeServiceKeys, key) && !strings.HasPrefix(key, "x-") {
				t.Errorf("service %s: key %q is not a Compose service attribute", name, key)
			}
		}
		var deps []string
		switch d := svc["depends_on"].(type) {
		case []any:
			deps = stringList(d)
		case map[string]any:
			for dep, cond := range d {
				deps = append(deps, dep)
				if got := digString(cond, "condition"); !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, got) {
					t.Errorf("service %s: depends_on %s: condition %q", name, dep, got)
				}
			}
		}
		for _, dep := range deps {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which does not exist", name, dep)
			}
			if len(digList(c.Services[dep], "profiles")) > 0 && len(digList(svc, "profiles")) == 0 {
				t.Errorf("service %s (always on) depends on %s, which only runs in a profile", name, dep)
			}
		}
	}
	if got := digString(c.Services["sipwire"], "build", "dockerfile"); got != "deploy/Dockerfile" {
		t.Errorf("sipwire is built from %q, want deploy/Dockerfile", got)
	}
	if ctx := digString(c.Services["sipwire"], "build", "context"); ctx != "." {
		t.Errorf("sipwire's build context %q, want the repository root", ctx)
	}
	for _, name := range []string{"sipp-uas", "sipp-uac"} {
		ctx := digString(c.Services[name], "build", "context")
		if _, err := os.Stat(repoPath(ctx, "Dockerfile")); err != nil {
			t.Errorf("service %s: build context %q has no Dockerfile: %v", name, ctx, err)
		}
	}
}

func TestComposeImagesPinned(t *testing.T) {
	c := loadCompose(t)
	for name, svc := range c.Services {
		image := digString(svc, "image")
		if svc["build"] != nil {
			// Built here: a local name, but never one that looks like a moving upstream tag.
			if strings.HasSuffix(image, ":latest") || !strings.Contains(image, ":") {
				t.Errorf("service %s: built image named %q, want NAME:TAG (not latest)", name, image)
			}
			continue
		}
		if why := pinnedRef(image); why != "" {
			t.Errorf("service %s: image %q is not pinned: %s", name, image, why)
		}
	}
}

func TestComposePortsOnLoopback(t *testing.T) {
	c := loadCompose(t)
	for name, svc := range c.Services {
		if mode := digString(svc, "network_mode"); mode == "host" {
			t.Errorf("service %s uses the host network", name)
		}
		for _, p := range servicePorts(t, svc) {
			if p.HostIP != "127.0.0.1" && p.HostIP != "::1" {
				t.Errorf("service %s publishes %q on %q, want 127.0.0.1", name, p.Spec, p.HostIP)
			}
		}
	}
	published := map[string]bool{}
	for _, p := range servicePorts(t, c.Services["sipwire"]) {
		published[fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)] = true
	}
	cfg := c.sipwireConfig(t)
	_, webPort := hostPort(t, "web.listen", digString(cfg, "web", "listen"))
	want := []string{fmt.Sprintf("%d/tcp", webPort)}
	for _, s := range c.sipwireSockets(t) {
		want = append(want, fmt.Sprintf("%d/tcp", socketPort(t, s)))
	}
	for _, w := range want {
		if !published[w] {
			t.Errorf("sipwire listens on %s but does not publish it (published %v)", w, published)
		}
	}
}

func TestComposeHEPGoesToHeplifyServer(t *testing.T) {
	c := loadCompose(t)
	heplify := serviceEnv(c.service(t, "heplify-server"))
	for _, id := range checkHEPDestination(t, c.sipwireConfig(t)) {
		if id.Host != "heplify-server" {
			t.Errorf("hep_id [%s] sends to %q, want the heplify-server service", id.Name, id.Host)
			continue
		}
		listenVar := map[string]string{"udp": "HEPLIFYSERVER_HEPADDR", "tcp": "HEPLIFYSERVER_HEPTCPADDR"}[id.Transport]
		if listenVar == "" {
			t.Errorf("hep_id [%s]: transport %q, want udp or tcp", id.Name, id.Transport)
			continue
		}
		_, port := hostPort(t, listenVar, heplify[listenVar])
		if id.Port != 9060 || port != id.Port {
			t.Errorf("hep_id [%s] sends to port %d over %s; heplify-server %s listens on %d; want 9060",
				id.Name, id.Port, id.Transport, listenVar, port)
		}
	}
}

func TestComposeOTLPGoesToCollector(t *testing.T) {
	c := loadCompose(t)
	env := serviceEnv(c.service(t, "sipwire"))
	endpoint, err := url.Parse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	if err != nil || endpoint.Host == "" {
		t.Fatalf("sipwire OTEL_EXPORTER_OTLP_ENDPOINT %q: want a URL (%v)", env["OTEL_EXPORTER_OTLP_ENDPOINT"], err)
	}
	if endpoint.Hostname() != "otel-collector" {
		t.Errorf("OTLP goes to %q, want the otel-collector service", endpoint.Hostname())
	}
	if env["OTEL_SERVICE_NAME"] != "sipwire" {
		t.Errorf("OTEL_SERVICE_NAME = %q, want sipwire", env["OTEL_SERVICE_NAME"])
	}
	protocol := map[string]string{"grpc": "grpc", "http/protobuf": "http"}[env["OTEL_EXPORTER_OTLP_PROTOCOL"]]
	if protocol == "" {
		t.Fatalf("OTEL_EXPORTER_OTLP_PROTOCOL = %q, want grpc or http/protobuf", env["OTEL_EXPORTER_OTLP_PROTOCOL"])
	}
	collector := c.service(t, "otel-collector")
	cfgPath := ""
	for _, arg := range commandArgs(collector) {
		if v, ok := strings.CutPrefix(arg, "--config="); ok {
			cfgPath = v
		}
	}
	if cfgPath == "" {
		t.Fatal("otel-collector's command has no --config=FILE")
	}
	cfg := readYAML(t, boundFile(t, collector, cfgPath))
	recv := digString(cfg, "receivers", "otlp", "protocols", protocol, "endpoint")
	host, port := hostPort(t, "collector OTLP "+protocol+" receiver", recv)
	if host != "0.0.0.0" {
		t.Errorf("collector OTLP %s receiver binds %q: other containers cannot reach it; want 0.0.0.0", protocol, host)
	}
	if endpoint.Port() != strconv.Itoa(port) {
		t.Errorf("sipwire sends OTLP to port %q; the collector's %s receiver listens on %d", endpoint.Port(), protocol, port)
	}
}

func TestCollectorExportsToJaeger(t *testing.T) {
	c := loadCompose(t)
	if _, ok := c.Services["jaeger"]; !ok {
		t.Fatal("no jaeger service")
	}
	cfg := readYAML(t, "otel-collector.yaml")
	pipeline := digMap(cfg, "service", "pipelines", "traces")
	if pipeline == nil {
		t.Fatal("collector has no traces pipeline")
	}
	for _, kind := range []string{"receivers", "processors", "exporters"} {
		for _, id := range stringList(digList(pipeline, kind)) {
			if _, ok := digMap(cfg, kind)[id]; !ok {
				t.Errorf("traces pipeline uses %s %q, which is not defined", kind, id)
			}
		}
	}
	if !slices.Contains(stringList(digList(pipeline, "receivers")), "otlp") {
		t.Error("traces pipeline does not receive OTLP")
	}
	for _, ext := range stringList(digList(cfg, "service", "extensions")) {
		if _, ok := digMap(cfg, "extensions")[ext]; !ok {
			t.Errorf("service uses extension %q, which is not defined", ext)
		}
	}
	toJaeger := false
	for _, id := range stringList(digList(pipeline, "exporters")) {
		typ, _, _ := strings.Cut(id, "/")
		if typ != "otlp_grpc" && typ != "otlp" {
			continue
		}
		host, port := hostPort(t, "exporter "+id, digString(cfg, "exporters", id, "endpoint"))
		if host == "jaeger" && port == 4317 {
			toJaeger = true
			if digString(cfg, "exporters", id, "tls", "insecure") != "true" {
				t.Errorf("exporter %s: Jaeger's OTLP receiver has no TLS here; want tls.insecure: true", id)
			}
		}
	}
	if !toJaeger {
		t.Error("no exporter of the traces pipeline sends OTLP gRPC to jaeger:4317")
	}
}

func TestComposeHomerDatabase(t *testing.T) {
	c := loadCompose(t)
	db := serviceEnv(c.service(t, "homer-db"))
	heplify := serviceEnv(c.service(t, "heplify-server"))
	app := serviceEnv(c.service(t, "homer-app"))

	host, port := hostPort(t, "HEPLIFYSERVER_DBADDR", heplify["HEPLIFYSERVER_DBADDR"])
	if host != "homer-db" || port != 5432 {
		t.Errorf("heplify-server's database is %s:%d, want homer-db:5432", host, port)
	}
	for key, want := range map[string]string{
		"HEPLIFYSERVER_DBDRIVER": "postgres",
		"HEPLIFYSERVER_DBSHEMA":  "homer7",
		"HEPLIFYSERVER_DBUSER":   db["POSTGRES_USER"],
		"HEPLIFYSERVER_DBPASS":   db["POSTGRES_PASSWORD"],
	} {
		if heplify[key] != want {
			t.Errorf("heplify-server %s = %q, want %q", key, heplify[key], want)
		}
	}
	for key, want := range map[string]string{
		"DB_HOST": "homer-db", "DB_PORT": "5432",
		"DB_USER": db["POSTGRES_USER"], "DB_PASS": db["POSTGRES_PASSWORD"],
		"DB_ROOT_USER": db["POSTGRES_USER"], "DB_ROOT_PASS": db["POSTGRES_PASSWORD"],
	} {
		if app[key] != want {
			t.Errorf("homer-app %s = %q, want %q", key, app[key], want)
		}
	}
	if db["POSTGRES_PASSWORD"] == "" {
		t.Error("homer-db has no POSTGRES_PASSWORD")
	}
	if test := stringList(digList(c.Services["homer-db"], "healthcheck", "test")); len(test) == 0 {
		t.Error("homer-db has no healthcheck, which homer-app and heplify-server wait for")
	}
}

func TestComposeSIPpProfileCallsThroughSipwire(t *testing.T) {
	c := loadCompose(t)
	uas := commandArgs(c.service(t, "sipp-uas"))
	uac := commandArgs(c.service(t, "sipp-uac"))
	if flagValue(uas, "-sn") != "uas" || flagValue(uac, "-sn") != "uac" {
		t.Errorf("scenarios: uas %q, uac %q", flagValue(uas, "-sn"), flagValue(uac, "-sn"))
	}
	for name, args := range map[string][]string{"sipp-uas": uas, "sipp-uac": uac} {
		if tr := flagValue(args, "-t"); tr != "t1" && tr != "tn" {
			t.Errorf("%s: transport %q, want TCP (t1 or tn)", name, tr)
		}
	}
	if flagValue(uac, "-m") == "" {
		t.Error("sipp-uac has no -m: it would never exit")
	}

	// The uac calls sipwire's SIP port...
	target := uac[len(uac)-1]
	host, port := hostPort(t, "sipp-uac target", target)
	sipPort := socketPort(t, c.sipwireSockets(t)[0])
	if host != "sipwire" || port != sipPort {
		t.Errorf("sipp-uac calls %s, want sipwire:%d", target, sipPort)
	}
	// ...which forwards to the uas.
	forward := flagValue(commandArgs(c.service(t, "sipwire")), "-forward")
	u, err := url.Parse(strings.SplitN(forward, ";", 2)[0])
	if err != nil || u.Scheme != "sip" {
		t.Fatalf("sipwire -forward %q: want a sip: URI (%v)", forward, err)
	}
	// sipwire resolves an upstream name once, at start, when sipp-uas (a
	// profile service) may not exist: the upstream is its fixed address.
	fwdHost, fwdPort := hostPort(t, "-forward", u.Opaque)
	uasAddr := digString(c.Services["sipp-uas"], "networks", "default", "ipv4_address")
	if uasAddr == "" || fwdHost != uasAddr || strconv.Itoa(fwdPort) != flagValue(uas, "-p") {
		t.Errorf("sipwire forwards to %s:%d; sipp-uas is at %q, port %s", fwdHost, fwdPort, uasAddr, flagValue(uas, "-p"))
	}
	if !strings.Contains(forward, "transport=tcp") {
		t.Errorf("-forward %q: want transport=tcp", forward)
	}
	if cond := digString(c.Services["sipp-uac"], "depends_on", "sipwire", "condition"); cond != "service_healthy" {
		t.Errorf("sipp-uac starts on sipwire %q, want service_healthy", cond)
	}
}

func TestComposeSipwireContainer(t *testing.T) {
	c := loadCompose(t)
	svc := c.service(t, "sipwire")
	if raw := digString(c.Raw, "services", "sipwire", "environment", "SIPWIRE_WEB_TOKEN"); !strings.Contains(raw, ":?") {
		t.Errorf("SIPWIRE_WEB_TOKEN = %q, want a required variable (${SIPWIRE_WEB_TOKEN:?...}), never a default", raw)
	}
	if _, err := interpolateTree(c.Raw, map[string]string{}); err == nil {
		t.Error("docker-compose.yml reads without SIPWIRE_WEB_TOKEN set; it must refuse")
	}
	if digString(svc, "read_only") != "true" {
		t.Error("sipwire's root filesystem is writable; want read_only: true")
	}
	if !slices.Contains(stringList(digList(svc, "tmpfs")), "/tmp") {
		t.Error("sipwire has no tmpfs on /tmp (SQLite's temporary files)")
	}
	if !slices.Contains(stringList(digList(svc, "cap_drop")), "ALL") {
		t.Error("sipwire keeps its capabilities; want cap_drop: [ALL]")
	}
	history := path.Dir(digString(c.sipwireConfig(t), "history", "path"))
	found := false
	for _, m := range serviceMounts(t, svc) {
		if m.Target == history && !m.Bind && !m.ReadOnly {
			found = true
		}
	}
	if !found {
		t.Errorf("history directory %s is not a writable named volume", history)
	}
	if _, ok := digMap(c.Doc, "volumes")["sipwire-history"]; !ok {
		t.Error("volume sipwire-history is not declared")
	}
	if digString(svc, "stop_grace_period") == "" {
		t.Error("sipwire has no stop_grace_period: docker stops it after 10 s, cutting the drain short")
	}
}

func TestComposeSipwireAdvertisesItsAddress(t *testing.T) {
	c := loadCompose(t)
	// sipwire's Via and Record-Route carry the address of its first specific
	// socket: with only wildcard sockets it has none to advertise.
	sockets := c.sipwireSockets(t)
	addr, _, _ := strings.Cut(strings.TrimPrefix(sockets[0], "tcp:"), ":")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.IsUnspecified() || ip.IsLoopback() {
		t.Fatalf("sipwire's first socket %q: want the container's own address (%v)", sockets[0], err)
	}
	fixed := digString(c.Services["sipwire"], "networks", "default", "ipv4_address")
	if fixed != ip.String() {
		t.Errorf("sipwire listens on %s but its fixed address is %q", ip, fixed)
	}
	var inSubnet bool
	for _, cfg := range digList(c.Doc, "networks", "default", "ipam", "config") {
		if prefix, err := netip.ParsePrefix(digString(cfg, "subnet")); err == nil && prefix.Contains(ip) {
			inSubnet = true
		}
	}
	if !inSubnet {
		t.Errorf("sipwire's address %s is in no subnet of the default network", ip)
	}
}
