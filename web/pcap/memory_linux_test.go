package pcap

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/sipwire/sipwire/transport"
)

// TestArenaResidentAsWritten checks that a ring's bound is memory the kernel
// backs only as records reach it: a ring of 512 MiB holding a few messages
// adds a small part of that to the process's resident size. And that the
// mapping is given back once the ring is unreachable.
func TestArenaResidentAsWritten(t *testing.T) {
	const bound = 512 << 20
	before := residentBytes(t)
	r := NewRing(bound)
	for i := range 100 {
		r.TapMessage(tapped(1, transport.Received, testEpoch, fmt.Sprintf("c%d", i), 500))
	}
	grown := residentBytes(t) - before
	if grown > bound/16 {
		t.Fatalf("a ring bounded to %d MiB holding 100 messages grew the resident size by %d MiB", bound>>20, grown>>20)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(r.arena.buf)))
	if !mapped(t, start) {
		t.Fatalf("the arena at %#x is in no mapping of /proc/self/maps", start)
	}
	r = nil
	for range 100 {
		runtime.GC()
		if !mapped(t, start) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the arena at %#x is still mapped 1 s after its ring became unreachable", start)
}

// residentBytes is the process's resident size (/proc/self/statm).
func residentBytes(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("statm %q: %v", b, err)
	}
	return pages * os.Getpagesize()
}

// mapped reports whether a mapping of /proc/self/maps holds addr.
func mapped(t *testing.T, addr uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lo, hi, ok := strings.Cut(strings.Fields(sc.Text())[0], "-")
		if !ok {
			continue
		}
		from, err1 := strconv.ParseUint(lo, 16, 64)
		to, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uint64(addr) >= from && uint64(addr) < to {
			return true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}
