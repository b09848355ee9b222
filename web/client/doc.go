// Package client talks to sipwire's REST API: the trace switch, the
// connection table and the event stream. RunCLI implements the `sipwire
// trace`, `sipwire conns` and `sipwire events` subcommands with it, the way
// `opensips-cli -x mi tcp_trace on` drives OpenSIPS.
package client
