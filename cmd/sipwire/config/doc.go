// Package config reads sipwire's configuration: a YAML file (sipwire.yaml) or
// the lines of an OpenSIPS configuration that matter to a SIP-over-TCP
// transport with tracing (opensips.cfg).
//
// The YAML keys use OpenSIPS' names, units and defaults for what OpenSIPS has
// (the socket list, the proto_tcp and proto_hep parameters, the TCP core
// parameters, routes) and sections with clear names for sipwire's own
// settings (hep, forward, web, otel, history, log). The embedded default
// (default.yaml) is what Default returns and what Print writes for it.
//
// Every problem is reported with the file, the line and the key, for
// example
//
//	sipwire.yaml:12: tcp_max_connections: must be between 1 and 1000000, got 0
//
// and all problems of a file are reported together (errors.Join). Each error
// is an *Error whose Unwrap gives one of the sentinel errors, so that callers
// can tell kinds apart with errors.Is.
package config
