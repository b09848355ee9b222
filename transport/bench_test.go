package transport

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func benchTransport(b *testing.B) (*Transport, string) {
	b.Helper()
	tr := New(Options{}, HandlerFunc(echoOptions))
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Close() })
	return tr, addr.String()
}

// roundTrips sends n OPTIONS on c, one at a time, reading each 200.
func roundTrips(c net.Conn, n int) error {
	req := []byte(optionsReq)
	r := bufio.NewReaderSize(c, 4096)
	for range n {
		if _, err := c.Write(req); err != nil {
			return err
		}
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) == 2 {
				break
			}
		}
	}
	return nil
}

// BenchmarkOptionsRoundTrip1Conn: OPTIONS → 200 round trips over one
// connection, one request in flight.
func BenchmarkOptionsRoundTrip1Conn(b *testing.B) {
	_, addr := benchTransport(b)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := roundTrips(c, b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
}

// BenchmarkOptionsRoundTrip100Conns: the same over 100 connections at once.
func BenchmarkOptionsRoundTrip100Conns(b *testing.B) {
	_, addr := benchTransport(b)
	const conns = 100
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N/conns + 1
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := roundTrips(c, per); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*conns)/time.Since(start).Seconds(), "roundtrips/s")
}

// BenchmarkIdleConnectionMemory opens SIPWIRE_IDLE_CONNS (default 10,000)
// connections from a child process, each sending one ping, and reports the
// transport process's resident memory per idle connection.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SIPWIRE_IDLE_CONNS")); err == nil {
		n = v
	}
	for range b.N {
		tr := New(Options{MaxConnections: n + 10}, HandlerFunc(echoOptions))
		addr, err := tr.Listen("tcp:127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		before := residentBytes(b)
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsChild$")
		cmd.Env = append(os.Environ(), "SIPWIRE_IDLE_CHILD="+addr.String()+","+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if !strings.HasPrefix(line, "ready") {
			b.Fatalf("child: %q", line)
		}
		deadline := time.Now().Add(60 * time.Second)
		for tr.Stats().Pongs < uint64(n) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if st := tr.Stats(); st.Open != n || st.Pongs != uint64(n) {
			b.Fatalf("open %d pongs %d, want %d", st.Open, st.Pongs, n)
		}
		// Idle: every reader parks (at once, after its ping).
		for tr.Stats().Parked < n && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if st := tr.Stats(); st.Parked < n {
			b.Fatalf("%d of %d connections parked", st.Parked, n)
		}
		time.Sleep(200 * time.Millisecond)
		after := residentBytes(b)
		b.ReportMetric(float64(after-before)/float64(n), "rss-bytes/conn")
		b.ReportMetric(float64(n), "conns")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		stdin.Close()
		cmd.Wait()
		tr.Close()
	}
}

func residentBytes(b *testing.B) int64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestIdleClientsChild is the client side of BenchmarkIdleConnectionMemory,
// run in a child process: plain sockets, each sends a ping and stays open
// until stdin closes.
func TestIdleClientsChild(t *testing.T) {
	spec := os.Getenv("SIPWIRE_IDLE_CHILD")
	if spec == "" {
		t.Skip("child process of BenchmarkIdleConnectionMemory")
	}
	addrStr, nStr, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(nStr)
	ap, err := ParseSocket(addrStr, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	fds := make([]int, 0, n)
	for range n {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Connect(fd, sa); err != nil {
			t.Fatal(err)
		}
		if _, err := syscall.Write(fd, []byte("\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	fmt.Println("ready")
	var buf bytes.Buffer
	buf.ReadFrom(os.Stdin)
	for _, fd := range fds {
		syscall.Close(fd)
	}
}
