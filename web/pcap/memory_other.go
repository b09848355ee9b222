//go:build !unix

package pcap

// arenaMemory returns n bytes of zeroed memory for an arena, from the Go
// heap: release is nil.
func arenaMemory(n int) (buf []byte, release func([]byte)) { return make([]byte, n), nil }
