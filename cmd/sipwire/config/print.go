package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// header opens every printed configuration.
const header = `# sipwire configuration. Top-level keys carry OpenSIPS' names, units and
# defaults (socket=, proto_tcp, proto_hep and TCP core parameters, routes);
# the sections hold sipwire's own settings. A key left out keeps its default.
# Print the effective configuration with: sipwire -print-config [-config FILE]
`

// Print writes c as a YAML file that Parse reads back to the same
// configuration: every key, each under a one-line comment saying what it
// bounds and its default. With redact set, every non-empty secret
// (web.token, hep.auth_key, otel.headers values) is written as Redaction,
// under a comment saying so: Parse refuses Redaction as a secret, so that a
// printed file never starts with the placeholder as its secret.
// Printing Default() writes the embedded default.yaml.
func (c *Config) Print(w io.Writer, redact bool) error {
	defaults := map[string]any{}
	for _, f := range Default().fields() {
		defaults[f.key] = f.value()
	}
	docs := map[string]string{}
	for _, s := range sections() {
		docs[s.name] = s.doc
	}
	var b strings.Builder
	b.WriteString(header)
	current := ""
	for _, f := range c.fields() {
		name, indent := f.key, ""
		if groupStarts[f.key] {
			b.WriteString("\n")
		}
		if sec := sectionOf(f.key); sec != "" {
			name, indent = strings.TrimPrefix(f.key, sec+"."), "  "
			if sec != current {
				fmt.Fprintf(&b, "\n# %s\n%s:\n", docs[sec], sec)
				current = sec
			}
		}
		doc := f.doc
		if d, ok := defaults[f.key]; ok && !isNonEmptyMap(d) {
			doc += "; default " + inline(d)
		}
		v := f.value()
		if redact && f.secret && hasSecret(v) {
			v = redactValue(v)
			doc += "\n" + indent + "# " + redactedNote
		}
		fmt.Fprintf(&b, "%s# %s\n%s%s:", indent, doc, indent, name)
		writeValue(&b, v, indent, f.literal)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// groupStarts are the top-level keys printed after a blank line.
var groupStarts = map[string]bool{"socket": true, "tcp_max_connections": true, "trace_on": true, "hep_id": true, "route": true}

func isNonEmptyMap(v any) bool {
	m, ok := v.(map[string]string)
	return ok && len(m) > 0
}

// redactedNote follows the comment of a redacted secret.
const redactedNote = Redaction + " is not the secret: sipwire refuses to start with it; put the secret back"

// hasSecret reports whether v (a string or a map of strings) holds a
// non-empty value.
func hasSecret(v any) bool {
	switch v := v.(type) {
	case string:
		return v != ""
	case map[string]string:
		for _, s := range v {
			if s != "" {
				return true
			}
		}
	}
	return false
}

func redactValue(v any) any {
	switch v := v.(type) {
	case string:
		return redact(v)
	case map[string]string:
		for k, s := range v {
			v[k] = redact(s)
		}
		return v
	}
	return v
}

// inline renders a value on one line as YAML.
func inline(v any) string {
	switch v := v.(type) {
	case []string:
		items := make([]string, len(v))
		for i, s := range v {
			items[i] = yamlString(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]string:
		return "{}" // only empty maps are written inline
	case string:
		return yamlString(v)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// writeValue writes v after "key:" and ends the line (or block).
func writeValue(b *strings.Builder, v any, indent string, literal bool) {
	switch v := v.(type) {
	case []string:
		if len(v) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteString("\n")
		for _, s := range v {
			fmt.Fprintf(b, "%s  - %s\n", indent, yamlString(s))
		}
	case map[string]string:
		if len(v) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteString("\n")
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if literal {
				writeLiteral(b, k, v[k], indent+"  ")
				continue
			}
			fmt.Fprintf(b, "%s  %s: %s\n", indent, yamlString(k), yamlString(v[k]))
		}
	default:
		fmt.Fprintf(b, " %s\n", inline(v))
	}
}

// yamlString renders s as a one-line YAML scalar, quoted when it must be.
func yamlString(s string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsAny(s, "\n\r") {
		n.Style = yaml.DoubleQuotedStyle
	}
	out, err := marshalYAML(n)
	if err != nil || bytes.Count(bytes.TrimRight(out, "\n"), []byte("\n")) > 0 {
		return strconv.Quote(s) // JSON-style quoting is valid YAML
	}
	return string(bytes.TrimRight(out, "\n"))
}

// marshalYAML encodes n with two-space indentation.
func marshalYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// writeLiteral writes "name: |" and body as a literal block, indented, or
// as a quoted string when a literal block would not read back the same.
func writeLiteral(b *strings.Builder, name, body, indent string) {
	key := yamlString(name)
	block, ok := literalBlock(body, "")
	if ok {
		var back map[string]string
		ok = yaml.Unmarshal([]byte("k: "+block), &back) == nil && back["k"] == body
	}
	if !ok {
		fmt.Fprintf(b, "%s%s: %s\n", indent, key, yamlString(body))
		return
	}
	block, _ = literalBlock(body, indent)
	fmt.Fprintf(b, "%s%s: %s", indent, key, block)
}

// literalBlock renders body as a YAML literal block ("|" and its lines) for
// a key at indent. ok is false for what a literal block cannot hold.
func literalBlock(body, indent string) (block string, ok bool) {
	content := strings.TrimRight(body, "\n")
	if strings.TrimSpace(content) == "" {
		return "", false
	}
	for _, r := range content {
		if r < ' ' && r != '\n' && r != '\t' || r == 0x7f || r == '\uFEFF' {
			return "", false
		}
	}
	header := "|"
	lines := strings.Split(content, "\n")
	for _, l := range lines {
		if l != "" {
			if l[0] == ' ' || l[0] == '\t' {
				header += "2" // the first line's own indentation is content
			}
			break
		}
	}
	switch trailing := len(body) - len(content); {
	case trailing == 0:
		header += "-"
	case trailing > 1:
		return "", false // "|+" would also keep the blank line that follows
	}
	var bb strings.Builder
	bb.WriteString(header + "\n")
	for _, l := range lines {
		if l != "" {
			bb.WriteString(indent + "  " + l)
		}
		bb.WriteString("\n")
	}
	return bb.String(), true
}

// MarshalJSON writes c as JSON with the keys and units of the file (ms and
// s as numbers, 0|1 switches as numbers, durations and sizes as strings).
// It does not redact: serve Redacted().
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	current := ""
	for i, f := range c.fields() {
		name := f.key
		if sec := sectionOf(f.key); sec != "" {
			name = strings.TrimPrefix(f.key, sec+".")
			if sec != current {
				if current != "" {
					b.WriteByte('}')
				}
				fmt.Fprintf(&b, ",%q:{", sec)
				current = sec
			} else {
				b.WriteByte(',')
			}
		} else if i > 0 {
			b.WriteByte(',')
		}
		v, err := json.Marshal(f.value())
		if err != nil {
			return nil, fmt.Errorf("config: json of %s: %w", f.key, err)
		}
		fmt.Fprintf(&b, "%q:%s", name, v)
	}
	if current != "" {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
