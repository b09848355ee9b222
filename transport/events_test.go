package transport

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Event-sequence tests: for each scenario, the exact list of events of the
// connection, compared whole.

func expectSeq(t *testing.T, h *harness, want ...string) {
	t.Helper()
	got := h.untilClosed()
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}

func TestRejections(t *testing.T) {
	noCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "", 1)
	twoCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "Content-Length: 0\r\nl: 5\r\n", 1)
	badCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "Content-Length: x1\r\n", 1)
	bigCL := strings.Replace(optionsReq, "Content-Length: 0\r\n", "Content-Length: 70000\r\n", 1)
	cases := []struct {
		name, in, status, kind string
	}{
		{"missing Content-Length", noCL, "SIP/2.0 400 ", "BAD_MESSAGE"},
		{"two Content-Length values", twoCL, "SIP/2.0 400 ", "BAD_MESSAGE"},
		{"unparsable Content-Length", badCL, "SIP/2.0 400 ", "BAD_MESSAGE"},
		{"Content-Length over the maximum", bigCL, "SIP/2.0 513 ", "MESSAGE_TOO_LARGE"},
		{"not SIP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", "BAD_MESSAGE"},
		{"two SPs in the request line", strings.Replace(optionsReq, "OPTIONS sip:127.0.0.1 SIP/2.0", "OPTIONS  sip:127.0.0.1 SIP/2.0", 1), "SIP/2.0 400 Bad Request Line\r\n", "BAD_MESSAGE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{}, nil)
			c := h.dial()
			c.Write([]byte(tc.in))
			got := readAllClosed(t, c)
			if tc.status == "" && got != "" || !strings.HasPrefix(got, tc.status) {
				t.Fatalf("answer %q, want prefix %q", got, tc.status)
			}
			ev := h.untilClosed()
			if len(ev) != 3 || ev[0] != "ACCEPTED/SUCCESS/Connection accepted" ||
				!strings.HasPrefix(ev[1], tc.kind+"/FAILURE/") || !strings.HasPrefix(ev[2], "CLOSED/FAILURE/") ||
				ev[1][len(tc.kind):] != ev[2][len("CLOSED"):] {
				t.Fatalf("events %q", ev)
			}
		})
	}
}

func TestHeaderBlockTooLargeBeforeBody(t *testing.T) {
	h := newHarness(t, Options{MaxMessageBytes: 2000}, nil)
	c := h.dial()
	c.Write([]byte("OPTIONS sip:x SIP/2.0\r\nX-Pad: " + strings.Repeat("a", 2500)))
	readAllClosed(t, c)
	ev := h.untilClosed()
	if len(ev) != 3 || !strings.HasPrefix(ev[1], "MESSAGE_TOO_LARGE/FAILURE/") {
		t.Fatalf("events %q", ev)
	}
}

func TestPipelinedSplitAndPings(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c := h.dial()
	r := bufio.NewReader(c)
	// Two pipelined requests in one write, then one split in three writes
	// with a ping in front, then a ping split across writes.
	c.Write([]byte(options("p1") + options("p2")))
	for _, id := range []string{"p1", "p2"} {
		if resp := readResponse(t, r); !strings.Contains(resp, "Call-ID: "+id+"\r\n") {
			t.Fatalf("pipelined %s: %q", id, resp)
		}
	}
	msg := "\r\n\r\n" + options("p3")
	for _, part := range []string{msg[:7], msg[7:100], msg[100:]} {
		c.Write([]byte(part))
		time.Sleep(20 * time.Millisecond)
	}
	if pong, _ := r.ReadString('\n'); pong != "\r\n" {
		t.Fatalf("pong %q", pong)
	}
	if resp := readResponse(t, r); !strings.Contains(resp, "Call-ID: p3\r\n") {
		t.Fatalf("split: %q", resp)
	}
	c.Write([]byte("\r\n"))
	time.Sleep(20 * time.Millisecond)
	c.Write([]byte("\r\n"))
	if pong, _ := r.ReadString('\n'); pong != "\r\n" {
		t.Fatalf("split pong %q", pong)
	}
	// A lone CRLF before a request never breaks the connection.
	c.Write([]byte("\r\n" + options("p4")))
	if resp := readResponse(t, r); !strings.Contains(resp, "Call-ID: p4\r\n") {
		t.Fatalf("after lone CRLF: %q", resp)
	}
	c.Close()
	expectSeq(t, h, "ACCEPTED/SUCCESS/Connection accepted", "CLOSED/SUCCESS/EOF received")
	st := h.tr.Stats()
	if st.Pings != 2 || st.Pongs != 2 || st.MessagesIn != 4 || st.LoneCRLFs != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPingPongDisabled(t *testing.T) {
	h := newHarness(t, Options{DisableCRLFPingPong: true}, nil)
	c := h.dial()
	c.Write([]byte("\r\n\r\n" + optionsReq))
	resp := readResponse(t, bufio.NewReader(c))
	if !strings.HasPrefix(resp, "SIP/2.0 200") {
		t.Fatalf("expected the 200 first, no pong: %q", resp)
	}
}

func TestBodyDeliveredByteForByte(t *testing.T) {
	body := "v=0\r\n\r\n\x00\x01CRLFCRLF inside\r\n\r\n"
	got := make(chan string, 1)
	h := newHarness(t, Options{MaxMsgChunks: -1}, HandlerFunc(func(m *Message) {
		got <- string(m.Data[m.HeaderLen:])
	}))
	c := h.dial()
	req := strings.Replace(optionsReq, "Content-Length: 0", "Content-Length: "+itoa(len(body)), 1) + body
	for i := 0; i < len(req); i += 50 {
		c.Write([]byte(req[i:min(i+50, len(req))]))
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case b := <-got:
		if b != body {
			t.Fatalf("body %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
}

func TestChunkLimit(t *testing.T) {
	h := newHarness(t, Options{MaxMsgChunks: 3}, nil)
	c := h.dial()
	for _, part := range []string{"OPT", "IONS sip:x ", "SIP/2.0\r\n", "Via: x\r\n"} {
		c.Write([]byte(part))
		time.Sleep(30 * time.Millisecond)
	}
	expectSeq(t, h, "ACCEPTED/SUCCESS/Connection accepted",
		"CHUNK_LIMIT/FAILURE/Message arrived in 3 chunks, tcp_max_msg_chunks is 3",
		"CLOSED/FAILURE/Message arrived in 3 chunks, tcp_max_msg_chunks is 3")
}

func TestChunkLimitSparesLargeSegments(t *testing.T) {
	got := make(chan int, 1)
	h := newHarness(t, Options{MaxMsgChunks: 2}, HandlerFunc(func(m *Message) { got <- len(m.Data) }))
	c := h.dial()
	body := strings.Repeat("a", 8000)
	req := strings.Replace(optionsReq, "Content-Length: 0", "Content-Length: 8000", 1) + body
	for i := 0; i < len(req); i += 1400 {
		c.Write([]byte(req[i:min(i+1400, len(req))]))
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case n := <-got:
		if n != len(req) {
			t.Fatalf("got %d bytes, want %d", n, len(req))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a large INVITE in MSS-sized segments was not delivered")
	}
}

func TestMessageTimeout(t *testing.T) {
	h := newHarness(t, Options{MaxMsgTime: 200 * time.Millisecond, MaxMsgChunks: -1}, nil)
	c := h.dial()
	c.Write([]byte("OPTIONS sip:x SIP/2.0\r\n"))
	expectSeq(t, h, "ACCEPTED/SUCCESS/Connection accepted",
		"MESSAGE_TIMEOUT/FAILURE/Read timeout with incomplete SIP message",
		"CLOSED/FAILURE/Read timeout with incomplete SIP message")
}

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, Options{ConnectionLifetime: 300 * time.Millisecond}, nil)
	c := h.dial()
	// Traffic keeps it open past one lifetime.
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		c.Write([]byte("\r\n\r\n"))
	}
	expectSeq(t, h, "ACCEPTED/SUCCESS/Connection accepted",
		"IDLE_TIMEOUT/SUCCESS/Timeout on no traffic",
		"CLOSED/SUCCESS/Timeout on no traffic")
	if h.tr.Stats().Pongs != 3 {
		t.Fatalf("pongs %d", h.tr.Stats().Pongs)
	}
}

func TestMaxConnections(t *testing.T) {
	h := newHarness(t, Options{MaxConnections: 2}, nil)
	h.dial()
	h.dial()
	if e := h.next(); e.Kind != EventAccepted {
		t.Fatal(e)
	}
	if e := h.next(); e.Kind != EventAccepted {
		t.Fatal(e)
	}
	// The refusal resets the connection: the dial may already see it.
	c3, dialErr := net.DialTimeout("tcp", h.addr.String(), 5*time.Second)
	e := h.next()
	if e.Kind != EventAcceptRefused || e.Status != StatusFailure || !e.Remote.IsValid() || e.Local.Port() != h.addr.Port() {
		t.Fatalf("third: %+v", e)
	}
	if dialErr == nil {
		defer c3.Close()
		if got := readAllClosed(t, c3); got != "" {
			t.Fatalf("refused connection got %q", got)
		}
	}
	if st := h.tr.Stats(); st.Refused != 1 || st.Open != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEventAddressesAreReal(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c := h.dial()
	e := h.next()
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if e.Remote != local || e.Local != h.addr || e.Listener != h.addr || e.ConnID == 0 || e.Direction != Inbound {
		t.Fatalf("accepted %+v (client %v, listener %v)", e, local, h.addr)
	}
	if e.Time.Nanosecond()%1000 != 0 {
		t.Fatalf("time not in µs: %v", e.Time)
	}
	c.Close()
	h.next()
	// CLOSED carries the same real addresses (OpenSIPS sends 127.0.0.2:0).
}

func TestOutboundConnectReuseAndClose(t *testing.T) {
	peer := newHarness(t, Options{}, nil)
	client := newHarness(t, Options{}, HandlerFunc(func(*Message) {}))
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := client.tr.Send(peer.addr, []byte(options("o"+itoa(i))), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	e := client.next()
	if e.Kind == EventConnectStart { // a loaded machine may take longer than 100 ms
		e = client.next()
	}
	if e.Kind != EventConnected || e.Remote != peer.addr || !e.Local.IsValid() || e.Direction != Outbound {
		t.Fatalf("first outbound event %+v", e)
	}
	// One dial for ten concurrent sends.
	if n := len(client.tr.Connections()); n != 1 {
		t.Fatalf("%d connections", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for client.tr.Stats().MessagesIn < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := client.tr.Stats().MessagesIn; got != 10 {
		t.Fatalf("%d responses came back", got)
	}
	client.tr.CloseConn(e.ConnID, "test done")
	if got := client.untilClosed(); !slices.Equal(got, []string{"CLOSED/SUCCESS/test done"}) {
		t.Fatal(got)
	}
}

func TestConnectFailed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dst := l.Addr().(*net.TCPAddr).AddrPort()
	l.Close()
	client := newHarness(t, Options{}, nil)
	err = client.tr.Send(dst, []byte(optionsReq), nil)
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	got := client.untilClosed()
	if len(got) != 2 || !strings.HasPrefix(got[0], "CONNECT_FAILED/FAILURE/Async connect failed: connect 127.0.0.1:") ||
		got[1] != "CLOSED/FAILURE/Async connect failed" {
		t.Fatalf("events %q", got)
	}
}

// A connect that stays pending past tcp_async_local_connect_timeout goes to
// the background: CONNECT_START, and the failure reaches the sender through
// notify. A listener with a full backlog on loopback keeps SYNs unanswered.
func TestBackgroundConnectFailureNotifies(t *testing.T) {
	dst, stop := unansweredPeer(t)
	defer stop()
	client := newHarness(t, Options{LocalConnectTimeout: 20 * time.Millisecond, ConnectTimeout: 300 * time.Millisecond}, nil)
	notified := make(chan error, 1)
	if err := client.tr.Send(dst, []byte(optionsReq), func(err error) { notified <- err }); err != nil {
		t.Fatalf("background send returned %v", err)
	}
	got := client.untilClosed()
	if len(got) != 3 || got[0] != "CONNECT_START/SUCCESS/Async connect in progress" ||
		!strings.HasPrefix(got[1], "CONNECT_FAILED/FAILURE/") || got[2] != "CLOSED/FAILURE/Async connect failed" {
		t.Fatalf("events %q", got)
	}
	select {
	case err := <-notified:
		if !errors.Is(err, ErrConnectTimeout) {
			t.Fatalf("notified %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sender never told")
	}
}

// unansweredPeer returns an address whose SYNs go unanswered: a socket
// listening with a backlog of one that never accepts, its queue filled.
func unansweredPeer(t *testing.T) (dst netip.AddrPort, stop func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	var fill []net.Conn
	for range 16 {
		c, err := net.DialTimeout("tcp", dst.String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	return dst, func() {
		for _, c := range fill {
			c.Close()
		}
		syscall.Close(fd)
	}
}
