package hep

import (
	"sync"
	"sync/atomic"
)

// initialBufCap fits an event packet and most SIP messages.
const initialBufCap = 2048

// packetBuf is one encoded HEP packet, shared by the destinations it was
// queued to and returned to its pool when the last one is done with it.
type packetBuf struct {
	b    []byte
	refs atomic.Int32
	pool *bufPool
}

// release drops one reference; the last one returns the buffer to its pool.
func (p *packetBuf) release() {
	if p.refs.Add(-1) == 0 {
		p.pool.put(p)
	}
}

// bufPool recycles packet buffers so that steady tracing does not allocate.
type bufPool struct {
	pool sync.Pool
}

func (bp *bufPool) get() *packetBuf {
	if p, ok := bp.pool.Get().(*packetBuf); ok {
		p.b = p.b[:0]
		return p
	}
	return &packetBuf{b: make([]byte, 0, initialBufCap), pool: bp}
}

func (bp *bufPool) put(p *packetBuf) {
	bp.pool.Put(p)
}
