package main

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/deploy/testtool"
)

// BenchmarkTCPInfoSIPp is the CPU cost of the kernel's figures under load:
// SIPp calls through the forwarder, one TCP connection per call (-t tn, so
// every call's connection is read at close), beside 1,000 idle client
// connections (registered phones) that the periodic sampler reads, with
// sampling off (the close-time reads only), every second, and every 100 ms
// (256 connections a tick: 2,560 readings a second). It reports sipwire's
// CPU per call (the process's user+system time; SIPp runs apart) and the
// readings taken. Run with -benchtime=1x: each run is one load of 2,000
// calls at 200/s per mode.
func BenchmarkTCPInfoSIPp(b *testing.B) {
	sipp := testtool.Program(b, "sipp", "sip-tester")
	for _, m := range []struct {
		name     string
		interval time.Duration
	}{{"sampling-off", 0}, {"sampling-1s", time.Second}, {"sampling-100ms", 100 * time.Millisecond}} {
		b.Run(m.name, func(b *testing.B) {
			for range b.N {
				tcpInfoLoad(b, sipp, m.interval, 2000, 200, 1000)
			}
		})
	}
}

func tcpInfoLoad(b *testing.B, sipp string, interval time.Duration, calls, rate, idle int) {
	uasPort := freePortTB(b)
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	cfg := testConfigTB(sink.LocalAddr().String(), "")
	cfg.Forward.URI = "sip:127.0.0.1:" + strconv.Itoa(uasPort) + ";transport=tcp"
	cfg.TCPInfoInterval = interval
	cfg.TCPMaxConnections = 8192
	a := startApp(b, cfg)
	defer stopApp(b, a)
	for range idle {
		c, err := net.Dial("tcp", a.listeners[0].String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	common := []string{"-t", "tn", "-i", "127.0.0.1", "-m", strconv.Itoa(calls),
		"-max_socket", "5000", "-timeout", "150s", "-timeout_error", "-nostdin"}
	uas := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uas", "-p", strconv.Itoa(uasPort)}, common...)...)
	var uasOut, uacOut bytes.Buffer
	uas.Stdout, uas.Stderr, uas.Dir = &uasOut, &uasOut, b.TempDir()
	if err := uas.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if uas.ProcessState == nil {
			uas.Process.Kill()
			uas.Wait()
		}
	}()
	waitTCPTB(b, "127.0.0.1:"+strconv.Itoa(uasPort))
	reads0 := a.tr.Stats().TCPInfoReads
	cpu0, start := processCPU(), time.Now()
	uac := exec.CommandContext(ctx, sipp, append([]string{"-sn", "uac", "-p", strconv.Itoa(freePortTB(b)),
		"-r", strconv.Itoa(rate), "-l", strconv.Itoa(rate)}, append(common, a.listeners[0].String())...)...)
	uac.Stdout, uac.Stderr, uac.Dir = &uacOut, &uacOut, b.TempDir()
	if err := uac.Run(); err != nil {
		b.Fatalf("SIPp uac: %v\n%s", err, lastBytes(uacOut.Bytes()))
	}
	cpu, wall := processCPU()-cpu0, time.Since(start)
	reads := a.tr.Stats().TCPInfoReads - reads0
	if err := uas.Wait(); err != nil {
		b.Fatalf("SIPp uas: %v\n%s", err, lastBytes(uasOut.Bytes()))
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(calls), "cpu-µs/call")
	b.ReportMetric(cpu.Seconds()/wall.Seconds()*100, "cpu-%")
	b.ReportMetric(float64(reads)/wall.Seconds(), "reads/s")
	b.ReportMetric(float64(reads)/float64(calls), "reads/call")
}

// waitTCPTB waits (bounded) until something listens at addr.
func waitTCPTB(b testing.TB, addr string) {
	b.Helper()
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("nothing listens at %s", addr)
}

// freePortTB is a TCP port free on 127.0.0.1 now.
func freePortTB(b testing.TB) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
