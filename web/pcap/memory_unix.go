//go:build unix

package pcap

import "syscall"

// arenaMemory returns n bytes of zeroed memory for an arena: a private
// anonymous mapping, whose pages the kernel backs only when first written,
// outside the Go heap. release unmaps it, nil when the memory is the Go
// heap's (the mapping failed).
func arenaMemory(n int) (buf []byte, release func([]byte)) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n), nil
	}
	return b, unmapArena
}

// unmapArena gives an arena's mapping back to the kernel. Nothing can be
// done about an error: the mapping is the ring's own and of the size it was
// made with.
func unmapArena(b []byte) { _ = syscall.Munmap(b) }
