package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIdleConnectionMemoryDefaultConfig runs the sipwire binary on
// its default config (tracing on, HEP over UDP, the event history on),
// opens SIPWIRE_IDLE_CONNS (default 10,000) connections that each send one
// CRLF ping and stay idle, waits until every reader has parked and the
// process has settled, and reports the rise of its RSS per idle connection
// twice: cold-rss-bytes/conn for the first connections of the process,
// which also pay what is paid once or up to a bound (code first run, the
// pcap and event rings, the subscriptions' queues and the history's page
// caches touched as they fill), and rss-bytes/conn for as many more once
// those have closed: what each more idle connection costs.
func BenchmarkIdleConnectionMemoryDefaultConfig(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SIPWIRE_IDLE_CONNS")); err == nil {
		n = v
	}
	for range b.N {
		dir := b.TempDir()
		sink, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		cfgPath := filepath.Join(dir, "sipwire.yaml")
		cfg := fmt.Sprintf("hep_id:\n  - '[homer] %s; transport=udp; version=3'\ntcp_max_connections: %d\nhistory:\n  path: %s\n",
			sink.LocalAddr(), n+100, filepath.Join(dir, "history.db"))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			b.Fatal(err)
		}
		sip, web := freeAddrB(b), freeAddrB(b)
		cmd := exec.Command(binary, "-config", cfgPath, "-listen", "tcp:"+sip, "-web", web)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stats := func() (open, parked uint64) {
			var s struct {
				Transport struct {
					Open   uint64 `json:"open"`
					Parked uint64 `json:"parked"`
				} `json:"transport"`
			}
			resp, err := http.Get("http://" + web + "/api/v1/stats")
			if err != nil {
				return 0, 0
			}
			defer resp.Body.Close()
			json.NewDecoder(resp.Body).Decode(&s)
			return s.Transport.Open, s.Transport.Parked
		}
		waitB(b, "sipwire to answer", func() bool {
			c, err := net.Dial("tcp", sip)
			ok := err == nil
			if ok {
				c.Close()
			}
			return ok
		})
		time.Sleep(2 * time.Second)
		ap := netipAddrPort(b, sip)
		// idle opens n connections that each send a ping, waits until all
		// are parked and the process has settled, and returns the rise of
		// its RSS per connection and the sockets.
		idle := func(settle time.Duration) (perConn float64, fds []int) {
			before := rssOf(b, cmd.Process.Pid)
			for range n {
				fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
				if err != nil {
					b.Fatal(err)
				}
				if err := syscall.Connect(fd, ap); err != nil {
					b.Fatal(err)
				}
				syscall.Write(fd, []byte("\r\n\r\n"))
				fds = append(fds, fd)
			}
			waitB(b, "every connection to park", func() bool { open, parked := stats(); return open == uint64(n) && parked == uint64(n) })
			time.Sleep(settle)
			return float64(rssOf(b, cmd.Process.Pid)-before) / float64(n), fds
		}
		// Cold: the first connections also pay what is paid once, or up to
		// a bound: code first run, the pcap and event rings and the
		// subscriptions' queues touched as they fill, the history's page
		// caches.
		// The memory returner hands memory back a second after a burst,
		// and then not again for memoryMinInterval: the closing and the
		// second burst each wait for their turn.
		cold, fds := idle(3 * time.Second)
		for _, fd := range fds {
			syscall.Close(fd)
		}
		waitB(b, "every connection to close", func() bool { open, _ := stats(); return open == 0 })
		time.Sleep(memoryMinInterval + 3*time.Second)
		// Warm: what each more idle connection costs.
		warm, fds := idle(memoryMinInterval + 3*time.Second)
		b.ReportMetric(warm, "rss-bytes/conn")
		b.ReportMetric(cold, "cold-rss-bytes/conn")
		b.ReportMetric(float64(n), "conns")
		for _, fd := range fds {
			syscall.Close(fd)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		sink.Close()
	}
}

func rssOf(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		b.Skip("no /proc")
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func freeAddrB(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func netipAddrPort(b *testing.B, s string) *syscall.SockaddrInet4 {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		b.Fatal(err)
	}
	sa := &syscall.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa
}

func waitB(b *testing.B, what string, cond func() bool) {
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
