package pcap

// minArenaBytes is the arena's first size; it doubles from there up to the
// ring's bound as messages arrive.
const minArenaBytes = 64 << 10

// arena is a circular buffer of whole records, oldest first, each starting
// with its header (see header.go). A record is never split across the end of
// the buffer: one that does not fit there goes to the start, and the unused
// end waits until the oldest records have been read past it. The buffer is
// allocated at the first record and grows by doubling up to max, so an idle
// ring costs nothing. It is not safe for concurrent use.
type arena struct {
	buf []byte
	max int
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

// pop removes the oldest record and returns it; it aliases the buffer and
// is valid until the next take.
func (a *arena) pop() []byte {
	rec := a.buf[a.head:]
	rec = rec[:storedSize(rec)]
	a.head += len(rec)
	a.n--
	switch {
	case a.n == 0:
		a.head, a.tail, a.end, a.wrapped = 0, 0, 0, false
	case a.wrapped && a.head == a.end:
		a.head, a.end, a.wrapped = 0, 0, false
	}
	return rec
}

// grow reallocates the buffer, larger and with the records moved to its
// start, so that a record of size bytes fits if max allows. It reports false
// when the buffer is already max bytes long.
func (a *arena) grow(size int) bool {
	if len(a.buf) >= a.max {
		return false
	}
	used := a.used()
	n := a.max
	if len(a.buf) < a.max/2 {
		n = min(a.max, max(2*len(a.buf), minArenaBytes, used+size))
	}
	buf := make([]byte, n)
	a.copyTo(buf)
	a.buf, a.head, a.tail, a.end, a.wrapped = buf, 0, used, 0, false
	return true
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
