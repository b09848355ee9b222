package config

import _ "embed"

// defaultYAML is the embedded default configuration, the file Print writes
// for Default().
//
//go:embed default.yaml
var defaultYAML string

// Default returns the embedded default configuration (default.yaml): it
// listens on tcp:127.0.0.1:5060, serves the dashboard on 127.0.0.1:8080,
// traces with every event visible, sends HEP over UDP to 127.0.0.1:9060 and
// keeps a history. Each call returns a new Config.
func Default() *Config {
	c, err := parseYAML([]byte(defaultYAML), "default.yaml", &Config{})
	if err != nil {
		panic("config: the embedded default.yaml is invalid: " + err.Error())
	}
	return c
}
