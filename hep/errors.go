package hep

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers compare with errors.Is.
var (
	// ErrBadMagic: the packet does not start with "HEP3".
	ErrBadMagic = errors.New("hep: not a HEPv3 packet")
	// ErrLength: the length in the packet header is not the packet's length.
	ErrLength = errors.New("hep: packet length mismatch")
	// ErrTruncated: a chunk header or a chunk body runs past the packet end.
	ErrTruncated = errors.New("hep: truncated chunk")
	// ErrChunkSize: a fixed-size chunk does not have its size, or a chunk
	// length is below the 6-byte chunk header.
	ErrChunkSize = errors.New("hep: bad chunk size")
	// ErrFamily: the IP family chunk, the address chunks and the addresses
	// of a packet disagree, or an address is missing.
	ErrFamily = errors.New("hep: bad address family")
	// ErrTooLarge: the packet or one of its chunks does not fit the 16-bit
	// HEP length fields.
	ErrTooLarge = errors.New("hep: packet too large")
	// ErrBadDestination: a hep_id string cannot be parsed.
	ErrBadDestination = errors.New("hep: bad hep_id")
	// ErrConfig: the tracer's configuration is not usable.
	ErrConfig = errors.New("hep: bad configuration")
	// ErrClosed: the tracer was closed.
	ErrClosed = errors.New("hep: tracer closed")
)
