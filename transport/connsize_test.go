package transport

import (
	"testing"
	"unsafe"
)

// connBytes is the budget of a Conn, which every idle connection holds
// (Go's allocator rounds it up to its size class: 384 is one).
const connBytes = 384

// TestConnSize keeps Conn within its budget: state that few connections
// need (a write backlog, aliases, an outbound connect) hangs off a pointer.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > connBytes {
		t.Fatalf("Conn is %d bytes, budget %d: an idle connection holds one", n, connBytes)
	}
}
