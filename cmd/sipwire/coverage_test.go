package main

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/hep"
	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/pcap"
)

// sipCollector keeps the SIP packets (HEP type 1) sent to it.
type sipCollector struct {
	mu   sync.Mutex
	pkts []hep.Packet
}

func (s *sipCollector) add(p *hep.Packet) {
	if p.ProtoType != hep.ProtoSIP {
		return
	}
	q := *p
	q.Payload = bytes.Clone(p.Payload)
	q.CorrelationID = bytes.Clone(p.CorrelationID)
	s.mu.Lock()
	s.pkts = append(s.pkts, q)
	s.mu.Unlock()
}

// response returns the SIP response sent with this correlation id whose
// status line starts with status, if any.
func (s *sipCollector) response(callID, status string) (hep.Packet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pkts {
		if string(p.CorrelationID) == callID && bytes.HasPrefix(p.Payload, []byte("SIP/2.0 "+status+" ")) {
			return p, true
		}
	}
	return hep.Packet{}, false
}

// TestEveryWrittenResponseIsTraced: every response sipwire writes itself —
// 200 to OPTIONS, 400 and 513 to what it cannot frame, 483, 503 — reaches
// HEP and the pcap export with the request's Call-ID, and a CLOSED reason
// says "answered N" exactly when N was written.
func TestEveryWrittenResponseIsTraced(t *testing.T) {
	col := &sipCollector{}
	hc := serveHEP(t, 4<<20, col.add)
	cfg := testConfig(t, hc.LocalAddr().String(), "")
	dead := freeTCPPort(t) // nothing listens: the upstream is down
	cfg.Forward.URI = "sip:127.0.0.1:" + strconv.Itoa(dead) + ";transport=tcp"
	cfg.TCPMaxMsgSize = 2048
	a := startApp(t, cfg)
	events := a.tr.Subscribe("test", 1024, transport.AllEvents)
	self := a.listeners[0].String()

	oversizeHeaders := request("INVITE", "big-hdr")
	oversizeHeaders = strings.Replace(oversizeHeaders, "Content-Length: 0\r\n", "X-Pad: "+strings.Repeat("p", 3000)+"\r\nContent-Length: 0\r\n", 1)
	cases := []struct {
		name, callID, in, status string
		closes                   bool
	}{
		{"OPTIONS to sipwire", "opt-local", strings.Replace(request("OPTIONS", "opt-local"), "OPTIONS sip:127.0.0.1 ", "OPTIONS sip:"+self+" ", 1), "200", false},
		{"upstream down", "down", request("INVITE", "down"), "503", false},
		{"Max-Forwards 0", "mf0", strings.Replace(request("INVITE", "mf0"), "Max-Forwards: 70", "Max-Forwards: 0", 1), "483", false},
		{"bad Content-Length", "bad-cl", strings.Replace(request("OPTIONS", "bad-cl"), "Content-Length: 0", "Content-Length: x", 1), "400", true},
		{"Content-Length too large", "big-cl", strings.Replace(request("OPTIONS", "big-cl"), "Content-Length: 0", "Content-Length: 99999", 1), "513", true},
		{"oversize header block", "big-hdr", oversizeHeaders, "513", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", self)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte(tc.in))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			n, err := io.ReadAtLeast(c, buf, 12)
			if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 "+tc.status+" ")) {
				t.Fatalf("client got %q (%v), want a %s", buf[:n], err, tc.status)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				p, ok := col.response(tc.callID, tc.status)
				if ok {
					if !bytes.Equal(p.Payload, buf[:len(p.Payload)]) {
						t.Errorf("HEP payload differs from the bytes written:\n%q\n%q", p.Payload, buf[:n])
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s with correlation %q in HEP", tc.status, tc.callID)
				}
				time.Sleep(10 * time.Millisecond)
			}
			found := false
			for _, r := range a.pcap.Snapshot(pcap.Filter{}) {
				if r.CallID == tc.callID && r.Direction == transport.Sent && bytes.HasPrefix(r.Data, []byte("SIP/2.0 "+tc.status+" ")) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s for %q in the pcap ring", tc.status, tc.callID)
			}
		})
	}

	// What cannot be answered is closed without "answered".
	for _, junk := range []string{"HELLO world\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"} {
		c, err := net.Dial("tcp", self)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, _ := io.ReadAll(c); len(got) != 0 {
			t.Errorf("%q answered with %q", junk, got)
		}
		c.Close()
	}
	stopApp(t, a)
	answered, unanswered := 0, 0
	for e := range events.Events() {
		if e.Kind != transport.EventBadMessage && e.Kind != transport.EventMessageTooLarge {
			continue
		}
		switch {
		case strings.Contains(e.Reason, "(answered 400)") || strings.Contains(e.Reason, "(answered 513)"):
			answered++
		case strings.Contains(e.Reason, "answered"):
			t.Errorf("reason %q", e.Reason)
		default:
			unanswered++
		}
	}
	if answered != 3 || unanswered != 2 {
		t.Errorf("%d reasons say answered (want 3), %d do not (want 2)", answered, unanswered)
	}
}
