package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIDescribesEveryRoute compares the document's operations with the
// routes the engine serves, both ways.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodGet, "/api/v1/openapi.json", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	ids := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var op struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || op.OperationID == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: operation without id or responses", method, path)
			}
			if ids[op.OperationID] {
				t.Errorf("operationId %s twice", op.OperationID)
			}
			ids[op.OperationID] = true
		}
	}
	param := regexp.MustCompile(`:(\w+)`)
	var served []string
	for _, r := range f.srv.engine.Routes() {
		if r.Path == "/" || strings.HasPrefix(r.Path, "/ui/") {
			continue
		}
		if prefix, ok := strings.CutSuffix(r.Path, "*rest"); ok {
			// A catch-all serves the documented paths under it.
			n := len(served)
			for _, d := range documented {
				if m, p, _ := strings.Cut(d, " "); m == r.Method && strings.HasPrefix(p, prefix) {
					served = append(served, d)
				}
			}
			if len(served) == n {
				served = append(served, r.Method+" "+r.Path)
			}
			continue
		}
		served = append(served, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	if got := OpenAPI(); !json.Valid(got) {
		t.Error("OpenAPI() is not JSON")
	}
}
