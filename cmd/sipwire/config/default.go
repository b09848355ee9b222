package config

import (
	_ "embed"
	"sync"
)

// defaultYAML is the embedded default configuration, the file Print writes
// for Default().
//
//go:embed default.yaml
var defaultYAML string

// parsedDefault parses defaultYAML once; it is never changed afterwards,
// and Default hands out deep copies.
var parsedDefault = sync.OnceValue(func() *Config {
	c, err := parseYAML([]byte(defaultYAML), "default.yaml", &Config{})
	if err != nil {
		panic("config: the embedded default.yaml is invalid: " + err.Error())
	}
	return c
})

// Default returns the embedded default configuration (default.yaml): it
// listens on tcp:127.0.0.1:5060, serves the dashboard on 127.0.0.1:8080,
// traces with every event visible, sends HEP over UDP to 127.0.0.1:9060 and
// keeps a history. Each call returns a new Config.
func Default() *Config { return parsedDefault().Clone() }
