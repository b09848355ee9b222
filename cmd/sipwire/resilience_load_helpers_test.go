//go:build resilience

package main

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers of the long resilience tests only.

// pinger is a well-behaved SIP client: OPTIONS round trips, one at a time,
// each answer checked, on connections it replaces every perConn requests
// (each connection with a Call-ID of its own), until stop is closed.
type pinger struct {
	addr    string
	name    string
	perConn int
	pad     int

	sent     atomic.Uint64
	answered atomic.Uint64
	conns    atomic.Uint64
	// used counts the connections that carried at least one request (each
	// with its own Call-ID).
	used atomic.Uint64

	mu   sync.Mutex
	errs []error
}

func (p *pinger) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) < 10 {
		p.errs = append(p.errs, err)
	}
}

// run does round trips until stop is closed; it returns after the last
// answer (or failure).
func (p *pinger) run(stop <-chan struct{}) {
	for conn := 0; ; conn++ {
		select {
		case <-stop:
			return
		default:
		}
		if !p.session(stop, p.name+"-"+strconv.Itoa(conn)) {
			return
		}
	}
}

// session does up to perConn round trips on one new connection; false means
// it failed.
func (p *pinger) session(stop <-chan struct{}, callID string) bool {
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		p.fail(fmt.Errorf("%s: dial: %w", callID, err))
		return false
	}
	defer c.Close()
	p.conns.Add(1)
	r := bufio.NewReader(c)
	for cseq := 1; cseq <= p.perConn; cseq++ {
		select {
		case <-stop:
			return true
		default:
		}
		c.SetDeadline(time.Now().Add(ioTimeout))
		p.sent.Add(1)
		if _, err := c.Write(optionsRequest(callID, cseq, p.pad)); err != nil {
			p.fail(fmt.Errorf("%s/%d: write: %w", callID, cseq, err))
			return false
		}
		m, err := readSIP(r)
		if err != nil {
			p.fail(fmt.Errorf("%s/%d: %w", callID, cseq, err))
			return false
		}
		if err := checkAnswer(m, callID, cseq); err != nil {
			p.fail(err)
			return false
		}
		p.answered.Add(1)
		if cseq == 1 {
			p.used.Add(1)
		}
	}
	return true
}

// check fails t unless every request the pinger sent was answered.
func (p *pinger) check(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, err := range p.errs {
		t.Errorf("pinger %s: %v", p.name, err)
	}
	if s, a := p.sent.Load(), p.answered.Load(); s != a || s == 0 {
		t.Errorf("pinger %s: %d requests sent, %d answered", p.name, s, a)
	}
}

// pingers runs n pingers against addr until the returned stop function is
// called; stop waits for them and returns them.
func pingers(addr, name string, n, perConn, pad int) func() []*pinger {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	ps := make([]*pinger, n)
	for i := range ps {
		ps[i] = &pinger{addr: addr, name: name + strconv.Itoa(i), perConn: perConn, pad: pad}
		wg.Go(func() { ps[i].run(stop) })
	}
	return func() []*pinger {
		close(stop)
		wg.Wait()
		return ps
	}
}

// pcapRingHeap is what the app's pcap ring (pcapRingBytes of messages)
// holds on the heap once full: its records and their slice cost more than
// the bytes counted against its bound. It stays full after a load.
const pcapRingHeap = 2 * pcapRingBytes

// heapWatch samples the heap in use and keeps the peak.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

// heapInuse returns HeapInuse after two collections (the second empties
// what sync.Pools kept from the first).
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// watchHeap measures the baseline (after a collection) and samples
// HeapInuse every 50 ms until finish.
func watchHeap() *heapWatch {
	h := &heapWatch{base: heapInuse(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// finish stops sampling and returns the peak growth over the baseline.
func (h *heapWatch) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.growth(h.peak.Load())
}

func (h *heapWatch) growth(v uint64) uint64 {
	if v < h.base {
		return 0
	}
	return v - h.base
}

// check fails t when the peak growth of the heap passed bound, or when the
// heap did not come back within settle of the baseline once the load was
// gone.
func (h *heapWatch) check(t testing.TB, what string, bound, settle uint64) {
	t.Helper()
	peak := h.finish()
	after := h.growth(heapInuse())
	t.Logf("%s: heap in use %d MiB at start, peak +%.1f MiB (bound +%d MiB), +%.1f MiB after the load (bound +%d MiB)",
		what, h.base>>20, float64(peak)/(1<<20), bound>>20, float64(after)/(1<<20), settle>>20)
	if peak > bound {
		t.Errorf("%s: the heap in use grew by %d bytes, over the bound of %d", what, peak, bound)
	}
	if after > settle {
		t.Errorf("%s: the heap in use is still %d bytes over its start after the load, over %d", what, after, settle)
	}
}

// waitUntil polls cond every 20 ms until it holds or the safety timeout
// passes; it fails t in the latter case.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// needFiles fails t at once, with what to do, when the process may not open
// n files (Go raises the soft limit to the hard one at start).
func needFiles(t testing.TB, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < n {
		t.Fatalf("this test opens about %d files; the limit is %d (raise it: ulimit -n %d)", n, lim.Cur, n)
	}
}

// acceptedIDs waits for the ACCEPTED of every client connection in log and
// returns their connection ids, in the order of conns.
func acceptedIDs(t *testing.T, log *eventLog, conns []net.Conn) []uint64 {
	t.Helper()
	ids := make([]uint64, len(conns))
	waitUntil(t, "every connection's ACCEPTED", ioTimeout, func() bool {
		for i, c := range conns {
			if ids[i] == 0 {
				id, ok := log.connOf(c.LocalAddr().String())
				if !ok {
					return false
				}
				ids[i] = id
			}
		}
		return true
	})
	return ids
}
