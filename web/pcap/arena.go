package pcap

// arena is a circular buffer of whole records, oldest first, each starting
// with its header (see header.go). A record is never split across the end of
// the buffer: one that does not fit there goes to the start, and the unused
// end waits until the oldest records have been read past it. The buffer is
// the ring's whole bound, taken at the first record from memory the kernel
// backs page by page as records first reach it (arenaMemory): an idle ring
// costs nothing, a filling one costs no copy (a buffer grown by doubling
// copied every record at each step, 16 MiB of copies and twice the
// memory while the last one ran for the default bound), and the records
// are outside the Go heap, so the collector neither scans them nor counts
// them towards its goal. It is not safe for concurrent use.
type arena struct {
	buf []byte
	// Records are in buf[head:tail], or, when wrapped, in buf[head:end]
	// followed by buf[:tail].
	head, tail, end int
	wrapped         bool
	n               int
}

// used is the number of bytes the records take.
func (a *arena) used() int {
	if a.wrapped {
		return a.end - a.head + a.tail
	}
	return a.tail - a.head
}

// take returns room for a new record of size bytes, or nil when the buffer
// has none without growing or dropping records.
func (a *arena) take(size int) []byte {
	switch {
	case !a.wrapped && a.tail+size <= len(a.buf):
	case !a.wrapped && size <= a.head:
		a.end, a.tail, a.wrapped = a.tail, 0, true
	case a.wrapped && a.tail+size <= a.head:
	default:
		return nil
	}
	b := a.buf[a.tail : a.tail+size : a.tail+size]
	a.tail += size
	a.n++
	return b
}

// pop removes the oldest record, of size bytes. It does not read the
// record, cold in the cache by the time it is evicted: the caller knows its
// size (the index keeps it).
func (a *arena) pop(size int) {
	a.head += size
	a.n--
	switch {
	case a.n == 0:
		a.head, a.tail, a.end, a.wrapped = 0, 0, 0, false
	case a.wrapped && a.head == a.end:
		a.head, a.end, a.wrapped = 0, 0, false
	}
}

// copyTo copies the records, oldest first, to dst, which holds at least
// used bytes, and returns how many bytes it copied.
func (a *arena) copyTo(dst []byte) int {
	if a.wrapped {
		k := copy(dst, a.buf[a.head:a.end])
		return k + copy(dst[k:], a.buf[:a.tail])
	}
	return copy(dst, a.buf[a.head:a.tail])
}
