package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A field binds one key of the file to its place in a Config. It decodes the
// key's YAML value (type problems), checks the value in place (range and
// format problems, also for values set in code) and gives the value in the
// file's units for Print and JSON.
type field struct {
	key     string // "tcp_port", "hep.format"
	doc     string // one line: what the key bounds
	kind    kind
	secret  bool // a secret: shown as Redaction when redacting
	literal bool // map values are printed as literal blocks (route bodies)
	// decode sets the field from n. mark records the line of a position key
	// (list items "key[i]", map entries "key.name").
	decode func(n *yaml.Node, mark func(pos string, line int)) []issue
	check  func() []issue
	value  func() any // int, bool, string, []string or map[string]string
}

// kind is the type of a key's value in the file.
type kind uint8

const (
	kindInt      kind = iota + 1 // an integer (also ms and s counts)
	kindFlag                     // OpenSIPS 0|1
	kindBool                     // true|false
	kindString                   // a string (also enums)
	kindDuration                 // "1s"
	kindSize                     // "1GiB"
	kindList                     // a list of strings
	kindMap                      // a mapping of strings
)

// issue is one problem of a field: pos is the position key whose line it is
// reported at.
type issue struct {
	pos      string
	line     int // when not 0, the line to report at instead of pos's
	msg      string
	sentinel error // ErrType or ErrValue
}

func oneIssue(pos string, sentinel error, format string, args ...any) []issue {
	return []issue{{pos: pos, msg: fmt.Sprintf(format, args...), sentinel: sentinel}}
}

// describe names a YAML value in a message: a quoted string, a bare number
// or boolean, "a list", "a mapping" or "nothing".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str", "!!binary", "!!timestamp":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "nothing"
}

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func intValue(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		return 0, false
	}
	return v, true
}

func rangeIssue[T int | int64](pos string, v, lo, hi T) []issue {
	if v < lo || v > hi {
		return oneIssue(pos, ErrValue, "must be between %d and %d, got %d", lo, hi, v)
	}
	return nil
}

// intKey is an integer in [lo, hi].
func intKey(key, doc string, p *int, lo, hi int) field {
	return field{
		key: key, doc: doc, kind: kindInt,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			v, ok := intValue(n)
			if !ok {
				return oneIssue(key, ErrType, "must be an integer, got %s", describe(n))
			}
			if v < int64(lo) || v > int64(hi) {
				return rangeIssue(key, v, int64(lo), int64(hi))
			}
			*p = int(v)
			return nil
		},
		check: func() []issue { return rangeIssue(key, *p, lo, hi) },
		value: func() any { return *p },
	}
}

// unitKey is an integer count of unit (ms or s, OpenSIPS' units) in [lo, hi],
// kept as a time.Duration.
func unitKey(key, doc string, p *time.Duration, unit time.Duration, lo, hi int) field {
	return field{
		key: key, doc: doc, kind: kindInt,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			v, ok := intValue(n)
			if !ok {
				return oneIssue(key, ErrType, "must be an integer, got %s", describe(n))
			}
			if v < int64(lo) || v > int64(hi) {
				return rangeIssue(key, v, int64(lo), int64(hi))
			}
			*p = time.Duration(v) * unit
			return nil
		},
		check: func() []issue { return rangeIssue(key, int64(*p/unit), int64(lo), int64(hi)) },
		value: func() any { return int(*p / unit) },
	}
}

// flagKey is an OpenSIPS 0|1 switch (true and false are accepted too).
// refuseOne makes the flag field f refuse the value 1, with why.
func refuseOne(f field, p *bool, why string) field {
	check := f.check
	f.check = func() []issue {
		if *p {
			return oneIssue(f.key, ErrValue, "%s", why)
		}
		return check()
	}
	return f
}

func flagKey(key, doc string, p *bool) field {
	return field{
		key: key, doc: doc, kind: kindFlag,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
				var b bool
				if n.Decode(&b) == nil {
					*p = b
					return nil
				}
			}
			v, ok := intValue(n)
			switch {
			case ok && (v == 0 || v == 1):
				*p = v == 1
				return nil
			case ok:
				return oneIssue(key, ErrValue, "must be 0 or 1, got %d", v)
			}
			return oneIssue(key, ErrType, "must be 0 or 1, got %s", describe(n))
		},
		check: func() []issue { return nil },
		value: func() any {
			if *p {
				return 1
			}
			return 0
		},
	}
}

// boolKey is true or false.
func boolKey(key, doc string, p *bool) field {
	return field{
		key: key, doc: doc, kind: kindBool,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
				var b bool
				if n.Decode(&b) == nil {
					*p = b
					return nil
				}
			}
			return oneIssue(key, ErrType, "must be true or false, got %s", describe(n))
		},
		check: func() []issue { return nil },
		value: func() any { return *p },
	}
}

func stringValue(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// stringKey is a string; valid returns what is wrong with a value, or "".
func stringKey(key, doc string, p *string, valid func(string) string) field {
	return field{
		key: key, doc: doc, kind: kindString,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			s, ok := stringValue(n)
			if !ok {
				return oneIssue(key, ErrType, "must be a string, got %s", describe(n))
			}
			*p = s
			return nil
		},
		check: func() []issue {
			if valid == nil {
				return nil
			}
			if msg := valid(*p); msg != "" {
				return oneIssue(key, ErrValue, "%s", msg)
			}
			return nil
		},
		value: func() any { return *p },
	}
}

// enumKey is one of a few words.
func enumKey(key, doc string, p *string, words ...string) field {
	return stringKey(key, doc, p, func(s string) string {
		if slices.Contains(words, s) {
			return ""
		}
		return fmt.Sprintf("must be %s, got %q", orList(words), s)
	})
}

// orList renders ["a","b","c"] as "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// durationKey is a Go duration ("1s", "168h") in [lo, hi].
func durationKey(key, doc string, p *time.Duration, lo, hi time.Duration) field {
	return field{
		key: key, doc: doc, kind: kindDuration,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
				if d, err := time.ParseDuration(n.Value); err == nil {
					*p = d
					return nil
				}
				return oneIssue(key, ErrValue, "must be a duration such as \"1s\" or \"168h\", got %s", describe(n))
			}
			return oneIssue(key, ErrType, "must be a duration such as \"1s\" or \"168h\", got %s", describe(n))
		},
		check: func() []issue {
			if *p < lo || *p > hi {
				return oneIssue(key, ErrValue, "must be between %s and %s, got %s",
					formatDuration(lo), formatDuration(hi), formatDuration(*p))
			}
			return nil
		},
		value: func() any { return formatDuration(*p) },
	}
}

// sizeKey is a byte size ("512MiB", "1GiB", or a plain number of bytes) in
// [lo, hi].
func sizeKey(key, doc string, p *int64, lo, hi int64) field {
	return field{
		key: key, doc: doc, kind: kindSize,
		decode: func(n *yaml.Node, _ func(string, int)) []issue {
			if n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!int") {
				if v, err := parseSize(n.Value); err == nil {
					*p = v
					return nil
				}
				return oneIssue(key, ErrValue, "must be a size such as \"512MiB\" or \"1GiB\", got %s", describe(n))
			}
			return oneIssue(key, ErrType, "must be a size such as \"512MiB\" or \"1GiB\", got %s", describe(n))
		},
		check: func() []issue {
			if *p < lo || *p > hi {
				return oneIssue(key, ErrValue, "must be between %s and %s, got %s",
					formatSize(lo), formatSize(hi), formatSize(*p))
			}
			return nil
		},
		value: func() any { return formatSize(*p) },
	}
}

// listKey is a list of strings (a single string is a list of one); valid
// returns what is wrong with an item, or "".
func listKey(key, doc string, p *[]string, valid func(string) string) field {
	return field{
		key: key, doc: doc, kind: kindList,
		decode: func(n *yaml.Node, mark func(string, int)) []issue {
			switch {
			case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
				*p = nil
				return nil
			case n.Kind == yaml.ScalarNode:
				mark(key+"[0]", n.Line)
				*p = []string{n.Value}
				return nil
			case n.Kind != yaml.SequenceNode:
				return oneIssue(key, ErrType, "must be a list of strings, got %s", describe(n))
			}
			var list []string
			var issues []issue
			for i, item := range n.Content {
				item = resolve(item)
				pos := fmt.Sprintf("%s[%d]", key, i)
				mark(pos, item.Line)
				s, ok := stringValue(item)
				if !ok || item.Tag == "!!null" {
					issues = append(issues, oneIssue(pos, ErrType, "item %d must be a string, got %s", i, describe(item))...)
					continue
				}
				list = append(list, s)
			}
			*p = list
			return issues
		},
		check: func() []issue {
			if valid == nil {
				return nil
			}
			var issues []issue
			for i, s := range *p {
				if msg := valid(s); msg != "" {
					issues = append(issues, oneIssue(fmt.Sprintf("%s[%d]", key, i), ErrValue, "%q: %s", s, msg)...)
				}
			}
			return issues
		},
		value: func() any {
			if *p == nil {
				return []string{}
			}
			return slices.Clone(*p)
		},
	}
}

// mapKey is a mapping of strings to strings; validKey returns what is wrong
// with a key, or "". entry, when not nil, sees each value node.
func mapKey(key, doc string, p *map[string]string, validKey func(string) string, entry func(k string, v *yaml.Node)) field {
	return field{
		key: key, doc: doc, kind: kindMap,
		decode: func(n *yaml.Node, mark func(string, int)) []issue {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				*p = nil
				return nil
			}
			if n.Kind != yaml.MappingNode {
				return oneIssue(key, ErrType, "must be a mapping of names to strings, got %s", describe(n))
			}
			m := map[string]string{}
			first := map[string]int{}
			var issues []issue
			for i := 0; i+1 < len(n.Content); i += 2 {
				kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
				if kn.Kind != yaml.ScalarNode {
					issues = append(issues, oneIssue(key, ErrType, "names must be strings, got %s", describe(kn))...)
					continue
				}
				pos := key + "." + kn.Value
				if line, dup := first[kn.Value]; dup {
					issues = append(issues, issue{pos: pos, line: kn.Line, msg: fmt.Sprintf("%q given twice (first at line %d)", kn.Value, line), sentinel: ErrValue})
					continue
				}
				first[kn.Value] = kn.Line
				mark(pos, kn.Line)
				s, ok := stringValue(vn)
				if !ok {
					issues = append(issues, oneIssue(pos, ErrType, "%q must be a string, got %s", kn.Value, describe(vn))...)
					continue
				}
				m[kn.Value] = s
				if entry != nil {
					entry(kn.Value, vn)
				}
			}
			if len(m) == 0 {
				m = nil
			}
			*p = m
			return issues
		},
		check: func() []issue {
			if validKey == nil {
				return nil
			}
			var issues []issue
			for _, k := range slices.Sorted(maps.Keys(*p)) {
				if msg := validKey(k); msg != "" {
					issues = append(issues, oneIssue(key+"."+k, ErrValue, "%q: %s", k, msg)...)
				}
			}
			return issues
		},
		value: func() any {
			if *p == nil {
				return map[string]string{}
			}
			return maps.Clone(*p)
		},
	}
}

// formatDuration writes d in the shortest exact form of one unit ("168h",
// "90s", "1500ms"), or d.String() when no single unit is exact.
func formatDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}}
	if d == 0 {
		return "0s"
	}
	for _, u := range units {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String()
}

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1},
}

// parseSize reads "1GiB", "512MiB", "10KB", "4096B" or "4096".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.name); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	if v < 0 || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	return v * mult, nil
}

// formatSize writes n in the largest binary unit that is exact ("1GiB").
func formatSize(n int64) string {
	for _, u := range sizeUnits[:4] {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
