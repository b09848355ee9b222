package forward

import "errors"

// Errors returned by New and Attach, comparable with errors.Is.
var (
	// ErrBadUpstream: Config.Upstream is not a sip: URI over TCP, or its
	// host does not resolve.
	ErrBadUpstream = errors.New("forward: bad upstream")
	// ErrNoAdvertise: no address to put in Via and Record-Route (no
	// Config.Advertise and no specific listener address).
	ErrNoAdvertise = errors.New("forward: no address to advertise")
	// ErrAttached: Attach was called twice.
	ErrAttached = errors.New("forward: already attached to a transport")
	// ErrLoop: the upstream is sipwire's own address.
	ErrLoop = errors.New("forward: the upstream is sipwire itself")
)
