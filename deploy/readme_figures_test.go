package deploy

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// benchmarkRef is a benchmark named in README.md: `BenchmarkXxx` or, for a
// sub-benchmark, `BenchmarkXxx/name`.
var benchmarkRef = regexp.MustCompile("`(Benchmark[A-Za-z0-9_]+)(?:/([A-Za-z0-9_.-]+))?`")

// benchmarkFunc matches a benchmark's declaration in a test file.
var benchmarkFunc = regexp.MustCompile(`(?m)^func (Benchmark[A-Za-z0-9_]+)\(b \*testing\.B\)`)

// figuresTable returns the rows of README.md's table of measured figures
// (the one headed "| what | figure | goal |"), header and separator left out.
func figuresTable(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| what | figure | goal |"):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			rows = append(rows, line)
		case in:
			return rows
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !in {
		t.Fatal(`README.md has no figures table ("| what | figure | goal |")`)
	}
	return rows
}

// repoBenchmarks maps each benchmark function declared in the repository's
// test files to the text of the file that declares it.
func repoBenchmarks(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(repoPath(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range benchmarkFunc.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every figure in README.md says which benchmark measures it, and that
// benchmark exists: renaming or removing it fails here, so a figure never
// outlives what measured it.
func TestREADMEFiguresNameTheirBenchmarks(t *testing.T) {
	rows := figuresTable(t)
	if len(rows) < 5 {
		t.Fatalf("README.md's figures table has %d rows", len(rows))
	}
	benches := repoBenchmarks(t)
	for _, row := range rows {
		what, _, _ := strings.Cut(strings.TrimPrefix(row, "|"), "|")
		refs := benchmarkRef.FindAllStringSubmatch(what, -1)
		if len(refs) == 0 {
			t.Errorf("README figure %q names no benchmark (`BenchmarkXxx`) in its first column", strings.TrimSpace(what))
		}
		for _, ref := range refs {
			src, ok := benches[ref[1]]
			switch {
			case !ok:
				t.Errorf("README figure %q: no func %s(b *testing.B) in any *_test.go", strings.TrimSpace(what), ref[1])
			case ref[2] != "" && !strings.Contains(src, `"`+ref[2]+`"`):
				t.Errorf("README figure %q: %s has no sub-benchmark %q", strings.TrimSpace(what), ref[1], ref[2])
			}
		}
	}
}
