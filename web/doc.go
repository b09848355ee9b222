// Package web is sipwire's HTTP face: the REST API under /api/v1 that
// replaces OpenSIPS' tcp_trace MI command and goes beyond it, OpenSIPS'
// JSON-RPC MI endpoint for existing tooling, Server-Sent Events of the
// network events, Prometheus metrics, a pcap download of traced SIP messages,
// and the dashboard of package ui.
//
// Beside the routes (routes.go) and the guard: calls.go serves the calls of
// the traced-message ring and one call as a ladder or a pcap; timeline.go
// samples the transport's counters every second for the dashboard's
// 15-minute chart; metrics.go and metric.go serve /metrics through
// prometheus/client_golang; stats.go the counters and the run id that tells
// one start of sipwire from the next.
//
// Safety follows Caddy's admin API (guard.go): the server listens on
// 127.0.0.1:8080 by default; every request's Host is checked against an
// allow-list (DNS rebinding: on a wildcard listen, the machine's addresses)
// and its Origin compared as scheme, host and port with the page's own, the
// listen address's and the allowed ones (cross-site requests); a state change
// also needs a request no cross-site page can send (a JSON body, X-Sipwire or
// the bearer header); with a token set, every route that changes state or
// reveals traffic or configuration needs it; a non-loopback address without
// a token is refused at start; every error is the JSON object
// {"error": "..."}.
//
// The package imports no exporter: it reaches the transport and the
// exporters through the small interfaces of Deps.
package web
