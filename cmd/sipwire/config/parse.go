package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path: an OpenSIPS configuration when
// its name ends in ".cfg" (or, for other names, when its content looks like
// one), else YAML. The returned Config is validated; an OpenSIPS import's
// skipped lines are in its Warnings.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a configuration from data; name is the file name used in
// messages and, by its extension, to choose the format as Load does.
func Parse(data []byte, name string) (*Config, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".cfg":
		return ParseOpenSIPS(data, name)
	case ".yaml", ".yml":
		return ParseYAML(data, name)
	}
	if looksLikeOpenSIPS(data) {
		return ParseOpenSIPS(data, name)
	}
	return ParseYAML(data, name)
}

var openSIPSLine = regexp.MustCompile(`(?m)^[ \t]*(modparam[ \t]*\(|loadmodule[ \t]|(socket|listen|mpath)[ \t]*=|route[ \t]*[\[{])`)

// looksLikeOpenSIPS reports whether data has a line only an OpenSIPS
// configuration has.
func looksLikeOpenSIPS(data []byte) bool { return openSIPSLine.Match(data) }

// ParseYAML reads a sipwire.yaml. Keys it does not name keep their default.
// Unknown keys, wrong types and bad values are errors naming the file, the
// line and the key; all of them are returned, joined.
func ParseYAML(data []byte, name string) (*Config, error) {
	return parseYAML(data, name, Default())
}

// parseYAML reads data over base, the values of keys the file leaves out.
func parseYAML(data []byte, name string, base *Config) (*Config, error) {
	c := base
	c.src = newSource(name)
	p := &problems{file: name}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.list = append(p.list, yamlError(name, err))
		return nil, p.err()
	}
	failed := map[string]bool{}
	if len(doc.Content) > 0 {
		c.decode(resolve(doc.Content[0]), p, failed)
	}
	c.validate(p, failed)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the problems of yaml.v3's parser (not its
// scanner). For them yaml.v3 reports the 0-based line of the construct the
// problem is in (a flow sequence, a block mapping) or of the problem, so
// one is added.
var yamlParserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>",
	"found undefined tag handle", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found duplicate %TAG directive",
}

// yamlError turns a yaml.v3 syntax error into an *Error at its line.
func yamlError(name string, err error) *Error {
	msg := strings.TrimPrefix(strings.SplitN(err.Error(), "\n", 2)[0], "yaml: ")
	e := &Error{File: name, Err: ErrSyntax, Msg: msg}
	if m := yamlLine.FindStringSubmatch("yaml: " + msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	if slices.Contains(yamlParserProblems, e.Msg) {
		e.Line++
	}
	return e
}

// decode sets c from the document's root mapping.
func (c *Config) decode(root *yaml.Node, p *problems, failed map[string]bool) {
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "", ErrType, "the configuration must be a mapping of keys, got "+describe(root))
		return
	}
	fields := fieldMap(c.fields())
	isSection := map[string]bool{}
	for _, s := range sections() {
		isSection[s.name] = true
	}
	mark := func(pos string, line int) { c.src.lines[pos] = line }
	seen := map[string]int{}

	decodeKey := func(key string, k, v *yaml.Node) {
		if first, dup := seen[key]; dup {
			p.add(k.Line, key, ErrValue, fmt.Sprintf("given twice (first at line %d)", first))
			failed[key] = true
			return
		}
		seen[key] = k.Line
		mark(key, k.Line)
		f, ok := fields[key]
		if !ok {
			p.add(k.Line, key, ErrUnknownKey, "unknown key"+suggest(key, fields))
			return
		}
		for _, is := range f.decode(v, mark) {
			failed[f.key] = true
			p.add(c.issueLine(is), f.key, is.sentinel, is.msg)
		}
	}

	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), resolve(root.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.add(k.Line, "", ErrType, "keys must be strings, got "+describe(k))
			continue
		}
		if strings.Contains(k.Value, ".") {
			p.add(k.Line, k.Value, ErrUnknownKey, "unknown key (a section's keys go under the section)")
			continue
		}
		if !isSection[k.Value] {
			decodeKey(k.Value, k, v)
			continue
		}
		sec := k.Value
		if first, dup := seen[sec]; dup {
			p.add(k.Line, sec, ErrValue, fmt.Sprintf("given twice (first at line %d)", first))
			continue
		}
		seen[sec] = k.Line
		mark(sec, k.Line)
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind == yaml.ScalarNode && sec == "history":
			c.decodeHistorySwitch(v, p, failed)
		case v.Kind != yaml.MappingNode:
			p.add(v.Line, sec, ErrType, "must be a mapping of keys, got "+describe(v))
		default:
			for j := 0; j+1 < len(v.Content); j += 2 {
				sk, sv := resolve(v.Content[j]), resolve(v.Content[j+1])
				if sk.Kind != yaml.ScalarNode {
					p.add(sk.Line, sec, ErrType, "keys must be strings, got "+describe(sk))
					continue
				}
				decodeKey(sec+"."+sk.Value, sk, sv)
			}
		}
	}
}

// decodeHistorySwitch reads the scalar form "history: off" (or on).
func (c *Config) decodeHistorySwitch(v *yaml.Node, p *problems, failed map[string]bool) {
	switch strings.ToLower(v.Value) {
	case "off", "false", "no":
		c.History.Enabled = false
	case "on", "true", "yes":
		c.History.Enabled = true
	default:
		failed["history.enabled"] = true
		p.add(v.Line, "history", ErrType, "must be a mapping of keys or off, got "+describe(v))
	}
	c.src.lines["history.enabled"] = v.Line
}

// issueLine is the line an issue is reported at.
func (c *Config) issueLine(is issue) int {
	if is.line != 0 {
		return is.line
	}
	if c.src == nil {
		return 0
	}
	// A position set in code falls back to its key: "socket[3]" to
	// "socket", "route.f" to "route".
	for pos := is.pos; pos != ""; {
		if line, ok := c.src.lines[pos]; ok {
			return line
		}
		i := strings.LastIndexAny(pos, "[.")
		if i < 0 {
			break
		}
		pos = pos[:i]
	}
	return 0
}

// suggest names the known key closest to an unknown one, when one is close.
func suggest(key string, fields map[string]field) string {
	best, bestDist := "", 3
	for k := range fields {
		if sectionOf(k) != sectionOf(key) {
			continue
		}
		if d := editDistance(key, k); d < bestDist || d == bestDist && best != "" && k < best {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
