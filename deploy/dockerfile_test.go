package deploy

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

func parseDockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	defer f.Close()
	var (
		out     []instruction
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		cont := strings.HasSuffix(line, `\`)
		pending.WriteString(strings.TrimSuffix(line, `\`))
		pending.WriteString(" ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(pending.String()), " ")
		out = append(out, instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	if pending.Len() > 0 {
		t.Fatalf("%s: line %d: continuation at end of file", file, start)
	}
	return out
}

// finalStage returns the instructions of the last stage.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.Cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

// splitWords splits a shell command into words, honouring single and double quotes.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if in {
		words = append(words, word.String())
	}
	return words, nil
}

// goBuildCommand extracts the `[VAR=x ...] go build ARGS` command of the
// Dockerfile's build RUN: its environment assignments and its arguments.
func goBuildCommand(t *testing.T, ins []instruction) (env, args []string) {
	t.Helper()
	for _, in := range ins {
		if in.Cmd != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		words, err := splitWords(in.Args)
		if err != nil {
			t.Fatalf("line %d: %v", in.Line, err)
		}
		i := slices.Index(words, "go")
		if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
			t.Fatalf("line %d: no `go build` word pair", in.Line)
		}
		j := i
		for j > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[j-1]) {
			j--
		}
		args = words[i+2:]
		if k := slices.IndexFunc(args, func(w string) bool { return w == "&&" || w == ";" }); k >= 0 {
			args = args[:k]
		}
		return words[j:i], args
	}
	t.Fatal("the Dockerfile has no RUN with go build")
	return nil, nil
}

// versionAtLeast compares dotted versions ("1.26.8" >= "1.26").
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		if i >= len(h) {
			return false
		}
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a > b
		}
	}
	return true
}

// goModVersion returns the go directive of go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(repoPath("go.mod"))
	if err != nil {
		t.Fatalf("read go.mod: %v", err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfileBaseImagesPinned(t *testing.T) {
	for _, file := range []string{"Dockerfile", filepath.Join("sipp", "Dockerfile")} {
		for _, in := range parseDockerfile(t, file) {
			if in.Cmd != "FROM" {
				continue
			}
			image := strings.Fields(in.Args)[0]
			if image == "scratch" {
				continue
			}
			if why := pinnedRef(image); why != "" {
				t.Errorf("%s:%d: FROM %s is not pinned: %s", file, in.Line, image, why)
			}
		}
	}
}

func TestDockerfileBuildStage(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	builder := strings.Fields(ins[0].Args)[0]
	tag, ok := strings.CutPrefix(builder, "golang:")
	if !ok {
		t.Fatalf("first stage FROM %s, want golang:VERSION", builder)
	}
	goVersion, _, _ := strings.Cut(tag, "-")
	if want := goModVersion(t); !versionAtLeast(goVersion, want) {
		t.Errorf("builder Go %s is older than go.mod's go %s", goVersion, want)
	}
	env, args := goBuildCommand(t, ins)
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("go build environment %v lacks CGO_ENABLED=0 (the final image has no libc)", env)
	}
	if !slices.Contains(args, "-trimpath") {
		t.Errorf("go build %v lacks -trimpath", args)
	}
	if !slices.Contains(args, "-ldflags=-s -w") {
		t.Errorf("go build %v lacks -ldflags=\"-s -w\"", args)
	}
	if args[len(args)-1] != "./cmd/sipwire" {
		t.Errorf("go build builds %q, want ./cmd/sipwire", args[len(args)-1])
	}
	var runs []string
	for _, in := range ins {
		if in.Cmd == "RUN" {
			runs = append(runs, in.Args)
		}
	}
	for _, r := range runs {
		if (strings.Contains(r, "go build") || strings.Contains(r, "go mod download")) &&
			!strings.Contains(r, "--mount=type=cache,target=/go/pkg/mod") {
			t.Errorf("RUN %q has no module cache mount", r)
		}
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	final := finalStage(ins)
	base := strings.Fields(final[0].Args)[0]
	if base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want scratch or distroless/static", base)
	}
	got := map[string][]string{}
	for _, in := range final {
		got[in.Cmd] = append(got[in.Cmd], in.Args)
	}
	user := strings.Join(got["USER"], "")
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final USER %q, want a numeric non-root uid (runAsNonRoot needs a number)", user)
	}

	cfg := readYAML(t, "sipwire.container.yaml")
	_, webPort := hostPort(t, "web.listen", digString(cfg, "web", "listen"))
	exposed := strings.Fields(strings.Join(got["EXPOSE"], " "))
	for _, want := range []string{"5060/tcp", fmt.Sprintf("%d/tcp", webPort)} {
		if !slices.Contains(exposed, want) {
			t.Errorf("EXPOSE %v lacks %s", exposed, want)
		}
	}

	// Exec forms (JSON arrays): there is no shell in the image.
	var entry, cmd, check []string
	for name, dst := range map[string]*[]string{"ENTRYPOINT": &entry, "CMD": &cmd} {
		if len(got[name]) != 1 || json.Unmarshal([]byte(got[name][0]), dst) != nil {
			t.Fatalf("%s %v: want one exec form (JSON array)", name, got[name])
		}
	}
	if len(got["HEALTHCHECK"]) != 1 {
		t.Fatalf("want one HEALTHCHECK, have %d", len(got["HEALTHCHECK"]))
	}
	_, checkJSON, _ := strings.Cut(got["HEALTHCHECK"][0], "CMD ")
	if err := json.Unmarshal([]byte(checkJSON), &check); err != nil {
		t.Fatalf("HEALTHCHECK %q: want CMD in exec form: %v", got["HEALTHCHECK"][0], err)
	}
	if !slices.Equal(entry, []string{"/sipwire"}) {
		t.Errorf("ENTRYPOINT %v, want [/sipwire]", entry)
	}
	if len(check) < 2 || check[0] != "/sipwire" || check[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK %v, want /sipwire healthcheck -api URL", check)
	}
	if api := flagValue(check, "-api"); api != fmt.Sprintf("http://127.0.0.1:%d", webPort) {
		t.Errorf("HEALTHCHECK -api %q, want http://127.0.0.1:%d", api, webPort)
	}

	// The config CMD names is the container config, copied into the runtime tree.
	cfgPath := flagValue(cmd, "-config")
	if cfgPath == "" {
		t.Fatalf("CMD %v has no -config", cmd)
	}
	allRuns := ""
	for _, in := range ins {
		allRuns += in.Args + "\n"
	}
	if !strings.Contains(allRuns, "deploy/sipwire.container.yaml /rootfs"+cfgPath) {
		t.Errorf("the image does not install deploy/sipwire.container.yaml as %s", cfgPath)
	}
	history := path.Dir(digString(cfg, "history", "path"))
	if !strings.Contains(strings.Join(got["VOLUME"], " "), `"`+history+`"`) {
		t.Errorf("VOLUME %v does not hold the history directory %s", got["VOLUME"], history)
	}
	if !strings.Contains(allRuns, "chown 65532:65532 /rootfs"+history) || uid != "65532" {
		t.Errorf("the history directory %s is not owned by the image user %s", history, user)
	}
	if !slices.ContainsFunc(got["ENV"], func(e string) bool { return strings.HasPrefix(e, "TMPDIR=") }) {
		t.Error("no ENV TMPDIR: SQLite would look for a temporary directory that may not exist")
	}
}

func TestDockerfileIgnoreKeepsTheBuildInputs(t *testing.T) {
	data, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatalf("read Dockerfile.dockerignore: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, needed := range []string{"go.mod", "go.sum", "cmd/sipwire/main.go", "deploy/sipwire.container.yaml", "ui/index.html"} {
			if ok, _ := filepath.Match(strings.TrimPrefix(line, "**/"), needed); ok || line == needed || strings.HasPrefix(needed, line+"/") {
				t.Errorf("Dockerfile.dockerignore line %q drops %s from the build context", line, needed)
			}
		}
	}
}

// buildSipwire runs the Dockerfile's go build command here, writing the binary
// into a temporary directory. It skips under -short; a cmd/sipwire without
// Go files, or that does not build, fails the test.
func buildSipwire(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building sipwire with the Dockerfile's command")
	}
	if files, _ := filepath.Glob(repoPath("cmd", "sipwire", "*.go")); len(files) == 0 {
		t.Fatal("cmd/sipwire has no Go files: nothing to build")
	}
	env, args := goBuildCommand(t, parseDockerfile(t, "Dockerfile"))
	out := filepath.Join(t.TempDir(), "sipwire")
	i := slices.Index(args, "-o")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("go build %v has no -o", args)
	}
	args = slices.Clone(args)
	args[i+1] = out
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = repoPath()
	cmd.Env = append(os.Environ(), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v (the Dockerfile's build command): %v\n%s", strings.Join(env, " "), cmd.Args, err, msg)
	}
	return out
}

func TestDockerfileBuildCommandWorksHere(t *testing.T) {
	bin := buildSipwire(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("open the built binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (%v); it cannot run on scratch", p.Type)
		}
	}
	if f.Section(".debug_info") != nil || f.Section(".symtab") != nil {
		t.Error("the binary keeps its symbol table or DWARF: -ldflags=\"-s -w\" did not apply")
	}
}
