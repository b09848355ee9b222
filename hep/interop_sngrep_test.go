package hep

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

var sngrepDialogs = regexp.MustCompile(`Dialog count: (\d+)`)

// sngrepDialogCount returns the last dialog count sngrep printed.
func sngrepDialogCount(out string) int {
	m := sngrepDialogs.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// startSngrep runs sngrep as a HEP receiver on a UDP port of its own,
// writing what it decodes to a pcap file; it returns the port, the file and
// the process.
func startSngrep(t *testing.T) (int, string, *extProc) {
	t.Helper()
	needTool(t, "sngrep", "sngrep")
	dir := t.TempDir()
	port := freeUDPPort(t)
	pcapFile := filepath.Join(dir, "out.pcap")
	p := startProc(t, append(os.Environ(), "HOME="+dir), "sngrep", "-N", "-L", fmt.Sprintf("udp:127.0.0.1:%d", port), "-O", pcapFile)
	waitFor(t, "sngrep to listen", func() bool {
		if p.exited() {
			t.Fatalf("sngrep exited:\n%s", p.output())
		}
		return udpBound(port)
	})
	return port, pcapFile, p
}

// TestInteropSngrep sends SIP messages over UDP to sngrep's HEP listener
// and checks the pcap it writes: addresses, ports, timestamp and payload
// (sngrep ignores the proto type and writes every packet as UDP).
func TestInteropSngrep(t *testing.T) {
	port, pcapFile, p := startSngrep(t)
	homer, _ := interopCases()
	msgs := homer[1:] // sngrep takes every payload for SIP: send only messages
	tr := newTestTracer(t, Config{Destinations: []Destination{{Name: "sngrep", Host: "127.0.0.1", Port: port, Transport: UDP, Version: 3}}, NodeName: "n"})
	for _, c := range msgs {
		c.send(tr)
	}
	waitFor(t, "sngrep to see every dialog", func() bool { return sngrepDialogCount(p.output()) >= len(msgs) })
	p.stop()

	pkts := sngrepPackets(t, pcapFile)
	if len(pkts) != len(msgs) {
		t.Fatalf("sngrep wrote %d packets, %d were sent", len(pkts), len(msgs))
	}
	for i, w := range msgs {
		pkt, ci := pkts[i].Packet, pkts[i].ci
		var src, dst net.IP
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, dst = ip.SrcIP, ip.DstIP
		case *layers.IPv6:
			src, dst = ip.SrcIP, ip.DstIP
		default:
			t.Fatalf("packet %d: no IP layer: %v", i, pkt)
		}
		udp, ok := pkt.TransportLayer().(*layers.UDP)
		if !ok {
			t.Fatalf("packet %d: no UDP layer: %v", i, pkt)
		}
		gotSrc := net.JoinHostPort(src.String(), strconv.Itoa(int(udp.SrcPort)))
		gotDst := net.JoinHostPort(dst.String(), strconv.Itoa(int(udp.DstPort)))
		wantSrc, wantDst := w.src.String(), w.dst.String()
		if w.family == "10" {
			// sngrep 1.6's pcap writer builds an IPv4 header for every
			// packet, leaving IPv6 addresses out (0.0.0.0): check the ports.
			wantSrc = "0.0.0.0:" + strconv.Itoa(int(w.src.Port()))
			wantDst = "0.0.0.0:" + strconv.Itoa(int(w.dst.Port()))
		}
		if gotSrc != wantSrc || gotDst != wantDst {
			t.Errorf("packet %d: %s -> %s, want %s -> %s", i, gotSrc, gotDst, wantSrc, wantDst)
		}
		if sec, usec := strconv.FormatInt(ci.Timestamp.Unix(), 10), strconv.Itoa(ci.Timestamp.Nanosecond()/1000); sec != w.sec || usec != w.usec {
			t.Errorf("packet %d: timestamp %s.%s, want %s.%s", i, sec, usec, w.sec, w.usec)
		}
		if string(udp.Payload) != w.payload {
			t.Errorf("packet %d: payload\n%q\nwant\n%q", i, udp.Payload, w.payload)
		}
	}
}

// sngrepPacket is one packet of sngrep's pcap, decoded, with its capture
// info (the HEP timestamp).
type sngrepPacket struct {
	gopacket.Packet
	ci gopacket.CaptureInfo
}

// sngrepPackets reads every packet of the pcap sngrep wrote.
func sngrepPackets(t *testing.T, pcapFile string) []sngrepPacket {
	t.Helper()
	f, err := os.Open(pcapFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("sngrep's pcap: %v", err)
	}
	var out []sngrepPacket
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d of sngrep's pcap: %v", len(out), err)
		}
		out = append(out, sngrepPacket{gopacket.NewPacket(data, r.LinkType(), gopacket.Default), ci})
	}
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// udpBound reports whether a UDP socket is bound to 127.0.0.1:port, from
// /proc/net/udp: probing by binding the port ourselves could take it at the
// moment sngrep binds it.
func udpBound(port int) bool {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	return strings.Contains(string(data), fmt.Sprintf(" 0100007F:%04X ", port))
}
