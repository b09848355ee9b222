package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// drainMargin is what every stop deadline adds to sipwire's own drain deadline.
const drainMargin = 5 * time.Second

// shutdownTimeout reads cmd/sipwire's shutdownTimeout constant, written as
// N * time.Second: the longest a graceful stop takes after SIGTERM.
func shutdownTimeout(t *testing.T) time.Duration {
	t.Helper()
	files, _ := filepath.Glob(repoPath("cmd", "sipwire", "*.go"))
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if name.Name != "shutdownTimeout" || i >= len(vs.Values) {
						continue
					}
					bin, ok := vs.Values[i].(*ast.BinaryExpr)
					if !ok || bin.Op != token.MUL {
						t.Fatalf("%s: shutdownTimeout is not written as N * time.Second", file)
					}
					lit, okLit := bin.X.(*ast.BasicLit)
					unit, okUnit := bin.Y.(*ast.SelectorExpr)
					if !okLit || !okUnit || unit.Sel.Name != "Second" {
						t.Fatalf("%s: shutdownTimeout is not written as N * time.Second", file)
					}
					n, err := strconv.Atoi(lit.Value)
					if err != nil {
						t.Fatalf("%s: shutdownTimeout: %v", file, err)
					}
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	t.Fatal("cmd/sipwire has no shutdownTimeout constant: cannot compare the stop deadlines with it")
	return 0
}

func TestStopDeadlinesCoverTheDrain(t *testing.T) {
	drain := shutdownTimeout(t)

	m := loadManifests(t)
	spec := digMap(m.get(t, "Deployment", "sipwire"), "spec", "template", "spec")
	grace, err := strconv.Atoi(digString(spec, "terminationGracePeriodSeconds"))
	if err != nil {
		t.Fatalf("terminationGracePeriodSeconds: %v", err)
	}
	preStop, _ := strconv.Atoi(digString(m.container(t), "lifecycle", "preStop", "sleep", "seconds"))
	if want := time.Duration(preStop)*time.Second + drain + drainMargin; time.Duration(grace)*time.Second < want {
		t.Errorf("k8s terminationGracePeriodSeconds %d < preStop %d s + drain %v + %v", grace, preStop, drain, drainMargin)
	}

	stop, err := time.ParseDuration(digString(loadCompose(t).service(t, "sipwire"), "stop_grace_period"))
	if err != nil {
		t.Fatalf("compose stop_grace_period: %v", err)
	}
	if stop < drain+drainMargin {
		t.Errorf("compose stop_grace_period %v < drain %v + %v", stop, drain, drainMargin)
	}

	unit := parseUnit(t, filepath.Join("systemd", "sipwire.service"))
	timeout, err := time.ParseDuration(unit.last("Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("systemd TimeoutStopSec: %v", err)
	}
	if timeout < drain+drainMargin {
		t.Errorf("systemd TimeoutStopSec %v < drain %v + %v", timeout, drain, drainMargin)
	}
}
