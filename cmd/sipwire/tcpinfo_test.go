package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web/history"
)

// The kernel's figures of one connection, read once as it closed, are the
// same in its CLOSED event, its HEP LOG payload, its OpenTelemetry lifetime
// span and its history row. The connection is a peer with a 4 KiB receive
// buffer that stopped reading, closed by the operator while sipwire's
// answers wait in its send queue.
func TestTCPInfoSameEverywhere(t *testing.T) {
	hr := newHEPReceiver(t)
	or := newOTLPReceiver(t)
	cfg := testConfig(t, hr.conn.LocalAddr().String(), or.srv.URL)
	cfg.History.Enabled = true
	cfg.History.Path = filepath.Join(t.TempDir(), "h.db")
	// Events only: the HEP copies of the 60 padded requests and their
	// answers (120 packets, 150 KB in one burst) overflowed the receiver's
	// UDP buffer when its goroutine ran late, and the CLOSED after them was
	// lost with them (the sender counted no drop).
	cfg.HEP.TraceMessages = false
	a := startApp(t, cfg)
	sub := a.tr.Subscribe("test", 1024, transport.AllEvents)

	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.DialContext(context.Background(), "tcp", a.listeners[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	for i := range 60 {
		b.WriteString(strings.Replace(request("OPTIONS", fmt.Sprintf("same-%d", i)), "Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-",
			"Via: SIP/2.0/TCP 127.0.0.1:5099;pad="+strings.Repeat("p", 800)+";branch=z9hG4bK-", 1))
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var id uint64
	waitFor(t, "answers waiting in the send queue", func() bool {
		for _, cs := range a.tr.Connections() {
			if cs.Remote == c.LocalAddr().String() {
				id = cs.ID
				ti, err := a.tr.ConnTCPInfo(id)
				return err == nil && ti.SendQueue > 0
			}
		}
		return false
	})
	a.tr.CloseConn(id, "test close")
	var closed transport.Event
	for closed.Kind != transport.EventClosed || closed.ConnID != id {
		select {
		case closed = <-sub.Events():
		case <-time.After(10 * time.Second):
			t.Fatal("no CLOSED within 10s")
		}
	}
	stopApp(t, a) // flushes HEP, OpenTelemetry and the history
	ti := closed.TCP
	if ti == nil || ti.SendQueue == 0 || ti.RTT == 0 || ti.State != transport.TCPEstablished {
		t.Fatalf("CLOSED carries %+v", ti)
	}
	t.Logf("figures at close: %+v", *ti)

	// HEP: the CLOSED correlated to the connection id.
	var payload map[string]any
	hr.mu.Lock()
	for _, m := range hr.evs {
		if m["ConnID"] == float64(id) && m["Event"] == "CLOSED" && m["CallID"] == nil {
			payload, _ = m["TCP"].(map[string]any)
		}
	}
	hr.mu.Unlock()
	if payload == nil {
		t.Fatal("no HEP CLOSED with TCP figures")
	}
	if payload["state"] != ti.State.String() {
		t.Errorf("HEP state %v, event %s", payload["state"], ti.State)
	}
	// OpenTelemetry: the lifetime span (zero integers are not kept by the
	// receiver).
	var span map[string]string
	for _, s := range or.connSpans(id) {
		if s["name"] == "sip.tcp.connection" {
			span = s
		}
	}
	if span == nil || span["sipwire.tcp.state"] != ti.State.String() {
		t.Fatalf("lifetime span %v", span)
	}
	// The history row.
	st, err := history.Open(context.Background(), history.Config{Path: cfg.History.Path, Retention: -1, MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	p, err := st.Query(context.Background(), history.Filter{ConnID: id, Run: 1, Kinds: []transport.EventKind{transport.EventClosed}})
	if err != nil || len(p.Events) != 1 || p.Events[0].TCP == nil {
		t.Fatalf("history rows %+v, %v", p.Events, err)
	}
	row := p.Events[0].TCP
	if row.State != ti.State || !row.At.Equal(ti.At) {
		t.Errorf("history %s at %s, event %s at %s", row.State, row.At, ti.State, ti.At)
	}

	rowFields := row.Fields()
	for i, f := range ti.Fields() {
		if v, ok := payload[f.Key].(float64); !ok || uint64(v) != f.Value {
			t.Errorf("HEP %s = %v, event %d", f.Key, payload[f.Key], f.Value)
		}
		want := strconv.FormatUint(f.Value, 10)
		if f.Value == 0 {
			want = ""
		}
		if got := span["sipwire.tcp."+f.Key]; got != want {
			t.Errorf("span sipwire.tcp.%s = %q, event %d", f.Key, got, f.Value)
		}
		if rowFields[i] != f {
			t.Errorf("history %s = %d, event %d", f.Key, rowFields[i].Value, f.Value)
		}
	}
}
