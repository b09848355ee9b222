package history

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

const options = "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-1\r\n" +
	"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n" +
	"Call-ID: hist-call-1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

// TestRecordsTransportEvents records a real transport's events through its
// subscription, with the Call-IDs its handler sees, and finds them after a
// restart by connection, address and Call-ID.
func TestRecordsTransportEvents(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan struct{}, 1)
	tr := transport.New(transport.Options{}, transport.HandlerFunc(func(m *transport.Message) {
		s.ObserveCallID(m.Conn.ID(), m.CallID)
		handled <- struct{}{}
	}))
	s.ConsumeSubscription(tr.Subscribe("history", 1024, transport.AllEvents))
	addr, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().String()
	if _, err := io.WriteString(c, options); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handled:
	case <-time.After(30 * time.Second):
		t.Fatal("the message was not handled")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Written < 2 || st.Dropped != 0 || st.CallIDsWritten != 1 {
		t.Fatalf("stats after shutdown: %+v", st)
	}

	s2 := openTest(t, cfg)
	byCall, err := s2.Query(ctx, Filter{CallID: "hist-call-1@127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	n := len(byCall.Events)
	if n < 2 || byCall.Events[n-1].Kind != "ACCEPTED" || byCall.Events[0].Kind != "CLOSED" || byCall.Events[0].Remote != client {
		t.Fatalf("events of the call's connection: %+v", byCall.Events)
	}
	byConn, err := s2.Query(ctx, Filter{ConnID: byCall.Events[0].ConnID, Run: s.Run()})
	if err != nil {
		t.Fatal(err)
	}
	byAddr, err := s2.Query(ctx, Filter{Addr: client})
	if err != nil {
		t.Fatal(err)
	}
	byListener, err := s2.Query(ctx, Filter{Addr: addr.String(), Kinds: []transport.EventKind{transport.EventAccepted}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byConn.Events) != n || len(byAddr.Events) != n || len(byListener.Events) != 1 {
		t.Fatalf("by connection %d, by client address %d, accepted on the listener %d; want %d, %d, 1",
			len(byConn.Events), len(byAddr.Events), len(byListener.Events), n, n)
	}
}
