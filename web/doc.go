// Package web is sipwire's HTTP face: the REST API under /api/v1 that
// replaces OpenSIPS' tcp_trace MI command and goes beyond it, OpenSIPS'
// JSON-RPC MI endpoint for existing tooling, Server-Sent Events of the
// network events, Prometheus metrics, a pcap download of traced SIP messages,
// and the dashboard of package ui.
//
// Safety follows Caddy's admin API: the server listens on 127.0.0.1:8080 by
// default; every request's Host and Origin are checked against an allow-list
// (DNS rebinding, cross-site requests); every route that changes state needs
// the bearer token; a non-loopback address without a token is refused at
// start; every error is the JSON object {"error": "..."}.
//
// The package imports no exporter: it reaches the transport and the
// exporters through the small interfaces of Deps.
package web
