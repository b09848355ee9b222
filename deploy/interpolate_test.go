package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// composeVar matches Compose's variable forms: $$, $NAME, ${NAME}, ${NAME:-x},
// ${NAME-x}, ${NAME:?msg}, ${NAME?msg}, ${NAME:+x} and ${NAME+x}.
var composeVar = regexp.MustCompile(`\$\$|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}`)

// interpolate expands variables in s the way docker compose does, with env as
// the environment; an unset required variable is an error.
func interpolate(s string, env map[string]string) (string, error) {
	var failure error
	out := composeVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := composeVar.FindStringSubmatch(m)
		name, op, arg := sub[1]+sub[2], sub[3], sub[4]
		value, set := env[name]
		empty := value == ""
		switch op {
		case "":
			return value
		case ":-":
			if empty {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?":
			if empty {
				failure = fmt.Errorf("required variable %s is empty: %s", name, arg)
			}
		case "?":
			if !set {
				failure = fmt.Errorf("required variable %s is unset: %s", name, arg)
			}
		case ":+":
			if empty {
				return ""
			}
			return arg
		case "+":
			if !set {
				return ""
			}
			return arg
		}
		return value
	})
	return out, failure
}

// interpolateTree expands variables in every string of a decoded YAML tree.
func interpolateTree(v any, env map[string]string) (any, error) {
	switch node := v.(type) {
	case string:
		return interpolate(node, env)
	case map[string]any:
		out := make(map[string]any, len(node))
		for k, x := range node {
			y, err := interpolateTree(x, env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(node))
		for i, x := range node {
			y, err := interpolateTree(x, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	for _, tc := range []struct {
		in, want string
		fails    bool
	}{
		{in: "a$$b", want: "a$b"},
		{in: "$SET-${SET}", want: "v-v"},
		{in: "${UNSET:-d}|${EMPTY:-d}|${SET:-d}", want: "d|d|v"},
		{in: "${UNSET-d}|${EMPTY-d}", want: "d|"},
		{in: "${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}", want: "alt||alt"},
		{in: "sip:${HOST:-uas}:5070;transport=tcp", want: "sip:uas:5070;transport=tcp"},
		{in: "${SET:?need it}", want: "v"},
		{in: "${EMPTY:?need it}", fails: true},
		{in: "${UNSET?need it}", fails: true},
	} {
		got, err := interpolate(tc.in, env)
		if (err != nil) != tc.fails {
			t.Errorf("interpolate(%q) error %v, want failure %v", tc.in, err, tc.fails)
			continue
		}
		if !tc.fails && got != tc.want {
			t.Errorf("interpolate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := interpolate("${X:?set X}", nil); err == nil || !strings.Contains(err.Error(), "set X") {
		t.Errorf("required variable error = %v, want one carrying its message", err)
	}
}
