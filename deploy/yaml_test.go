package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoPath returns a path inside the repository; tests run in deploy/.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{".."}, elem...)...)
}

// readYAMLDocs decodes every document of a (multi-document) YAML file.
func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	docs, err := decodeYAMLDocs(data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return docs
}

// decodeYAMLDocs decodes every non-empty document of a YAML stream.
func decodeYAMLDocs(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// readYAML decodes a file that holds exactly one YAML document.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := readYAMLDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// dig walks nested maps (string keys) and lists (decimal index keys).
func dig(v any, path ...string) any {
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// digMap is dig for a map value; nil when absent or of another type.
func digMap(v any, path ...string) map[string]any {
	m, _ := dig(v, path...).(map[string]any)
	return m
}

// digList is dig for a list value; nil when absent or of another type.
func digList(v any, path ...string) []any {
	l, _ := dig(v, path...).([]any)
	return l
}

// digString is dig for a scalar, formatted as YAML would print it.
func digString(v any, path ...string) string {
	x := dig(v, path...)
	if x == nil {
		return ""
	}
	return fmt.Sprint(x)
}

// stringList turns a YAML list of scalars into strings.
func stringList(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// pinnedRef reports why an image reference is not pinned, or "" when it is:
// a digest, or a tag that is not "latest" and names a version (has a digit).
func pinnedRef(ref string) string {
	if ref == "" {
		return "no image"
	}
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return "no tag"
	}
	tag := name[i+1:]
	switch {
	case tag == "latest":
		return "tag latest"
	case !strings.ContainsAny(tag, "0123456789"):
		return fmt.Sprintf("tag %q names no version", tag)
	}
	return ""
}

// hepID is one parsed proto_hep hep_id string: "[name] host:port; k=v; ...".
type hepID struct {
	Name      string
	Host      string
	Port      int
	Transport string
	Version   string
}

var hepIDPattern = regexp.MustCompile(`^\[([A-Za-z0-9_-]+)\]\s*([^;\s]+)\s*(;.*)?$`)

// parseHEPID parses a hep_id as OpenSIPS writes it; the port defaults to 9060
// and the transport to udp, as in proto_hep.
func parseHEPID(s string) (hepID, error) {
	m := hepIDPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return hepID{}, fmt.Errorf("hep_id %q: want \"[name] host[:port][; param=value...]\"", s)
	}
	id := hepID{Name: m[1], Host: m[2], Port: 9060, Transport: "udp", Version: "3"}
	if host, port, err := net.SplitHostPort(m[2]); err == nil {
		p, err := strconv.Atoi(port)
		if err != nil {
			return hepID{}, fmt.Errorf("hep_id %q: port %q: %w", s, port, err)
		}
		id.Host, id.Port = host, p
	}
	for _, param := range strings.Split(m[3], ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "transport":
			id.Transport = strings.TrimSpace(v)
		case "version":
			id.Version = strings.TrimSpace(v)
		}
	}
	return id, nil
}

// hostPort splits "host:port" into its parts with a numeric port.
func hostPort(t *testing.T, what, s string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s %q: port: %v", what, s, err)
	}
	return host, p
}

// socketPort returns the port of an OpenSIPS socket "tcp:IP[:port]"
// (5060 when omitted).
func socketPort(t *testing.T, socket string) int {
	t.Helper()
	proto, addr, ok := strings.Cut(socket, ":")
	if !ok || proto != "tcp" {
		t.Fatalf("socket %q: want tcp:IP[:port]", socket)
	}
	if _, port, err := net.SplitHostPort(addr); err == nil {
		p, err := strconv.Atoi(port)
		if err != nil {
			t.Fatalf("socket %q: port: %v", socket, err)
		}
		return p
	}
	return 5060
}
