package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Short resilience tests, run with every `go test`; the long ones are in
// resilience_*_test.go files behind the resilience build tag.

// A flood of connections beyond tcp_max_connections: each one is refused at
// once (reset, never served), counted, and traced to HEP as ACCEPT_REFUSED
// FAILURE; the connections already open go on working.
func TestResilienceConnectionFlood(t *testing.T) {
	const (
		maxConns = 200
		flood    = 300
		workers  = 10
	)
	col := newTCPCollector(t, freeAddr(t))
	col.keepEvents = true
	col.start()
	cfg := testConfigTB("127.0.0.1:9", "")
	cfg.HepID = []string{"[t] " + col.addr + "; transport=tcp; version=3"}
	cfg.TCPMaxConnections = maxConns
	a := startApp(t, cfg)
	log := newEventLog(a.tr, 1<<14)
	addr := a.listeners[0].String()

	// Fill the table, each connection proven open by a round trip.
	held := make([]net.Conn, maxConns)
	readers := make([]*bufio.Reader, maxConns)
	for i := range held {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held[i], readers[i] = c, bufio.NewReader(c)
		roundTrip(t, c, readers[i], "held-"+strconv.Itoa(i), 1)
	}
	if st := a.tr.Stats(); st.Open != maxConns || st.Refused != 0 {
		t.Fatalf("after filling the table: %d open, %d refused", st.Open, st.Refused)
	}

	// The flood: sipwire resets every connection the kernel completes before
	// anything is read or written, so the client's connect or its first read
	// fails with a reset.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	for w := range workers {
		wg.Go(func() {
			for range flood / workers {
				err := refusedDial(addr, "flood-"+strconv.Itoa(w))
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}

	// The held connections were not disturbed.
	for i, c := range held {
		roundTrip(t, c, readers[i], "held-"+strconv.Itoa(i), 2)
	}
	st := a.tr.Stats()
	if st.Refused != flood || st.Accepted != maxConns || st.Open != maxConns {
		t.Errorf("transport stats after the flood: refused %d (want %d), accepted %d, open %d (want %d)", st.Refused, flood, st.Accepted, st.Open, maxConns)
	}

	// Every refused connection has exactly one event, ACCEPT_REFUSED FAILURE.
	refused := log.connsWith(transport.EventAcceptRefused)
	if len(refused) != flood {
		t.Errorf("%d connections with ACCEPT_REFUSED, want %d", len(refused), flood)
	}
	for id := range refused {
		evs := log.events(id)
		if len(evs) != 1 || evs[0].Status != transport.StatusFailure {
			t.Errorf("events of refused connection %d: %q", id, kinds(evs))
		}
	}

	for _, c := range held {
		c.Close()
	}
	stopApp(t, a)
	<-log.done

	// HEP (over TCP: nothing lost on the way) carries each refusal as
	// ACCEPT_REFUSED FAILURE, and nothing more of those connections.
	col.waitDisconnected()
	col.check(t)
	got := 0
	for id, evs := range col.connEvents() {
		if !refused[id] {
			continue
		}
		got++
		if len(evs) != 1 || evs[0].Event != "ACCEPT_REFUSED" || evs[0].Status != "FAILURE" {
			t.Errorf("HEP events of refused connection %d: %+v", id, evs)
		}
	}
	if got != flood {
		t.Errorf("HEP carried the events of %d refused connections, want %d", got, flood)
	}
	for _, c := range held {
		id, _ := log.connOf(c.LocalAddr().String())
		if k := kinds(log.events(id)); !slices.Equal(k, []string{"ACCEPTED", "CLOSED"}) {
			t.Errorf("held connection %d: events %q", id, k)
		}
	}
}

// refusedDial connects to addr and sends an OPTIONS; it returns an error
// unless the connection was reset by the other side without an answer.
func refusedDial(addr, callID string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if isReset(err) {
			return nil // reset before the connect returned
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	c.Write(optionsRequest(callID, 1, 0))
	var buf [512]byte
	n, err := c.Read(buf[:])
	if n != 0 || err == nil || !isReset(err) {
		return fmt.Errorf("refused connection: read %d bytes, error %s", n, errString(err))
	}
	return nil
}

// roundTrip sends one OPTIONS on c and checks its answer.
func roundTrip(t testing.TB, c net.Conn, r *bufio.Reader, callID string, cseq int) {
	t.Helper()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(optionsRequest(callID, cseq, 0)); err != nil {
		t.Fatalf("%s/%d: %v", callID, cseq, err)
	}
	m, err := readSIP(r)
	if err != nil {
		t.Fatalf("%s/%d: %v", callID, cseq, err)
	}
	if err := checkAnswer(m, callID, cseq); err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// Every event raised is accounted for, per consumer, after a run whose
// queues are tiny so that every consumer drops: events offered to a
// subscription = received + dropped; HEP packets offered = sent + dropped by
// reason; spans started = exported + failed + dropped; history events
// offered = written + failed + dropped.
func TestResilienceEveryEventAccounted(t *testing.T) {
	const (
		workers     = 8
		connsPerWkr = 40
	)
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
	hr := newHEPCounter(t)
	or := newOTLPReceiver(t)
	cfg := testConfigTB(hr.conn.LocalAddr().String(), or.srv.URL)
	cfg.HEP.QueueSize = 4
	// OpenSIPS' format sends exactly one packet per event (Homer's adds
	// Call-ID copies whose number depends on what was dropped before).
	cfg.HEP.Format = "opensips"
	cfg.History.Enabled = true
	cfg.History.Path = filepath.Join(t.TempDir(), "history.db")
	cfg.History.QueueSize = 8
	cfg.History.FlushInterval = 20 * time.Millisecond
	a := startApp(t, cfg)

	// A consumer of our own with a tiny queue, read slowly.
	probe := a.tr.Subscribe("probe", 4, transport.AllEvents)
	probeGot := make(chan uint64)
	go func() {
		var n uint64
		for range probe.Events() {
			n++
			time.Sleep(time.Millisecond)
		}
		probeGot <- n
	}()

	addr := a.listeners[0].String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for w := range workers {
		wg.Go(func() {
			for i := range connsPerWkr {
				callID := "acct-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if err := oneShot(addr, callID, i%10 == 9); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	stopApp(t, a)
	probeReceived := <-probeGot

	st := a.tr.Stats()
	subs := map[string]transport.SubscriptionStats{}
	for _, s := range st.Subscriptions {
		subs[s.Name] = s
		// Tracing is on with no filter: every consumer is offered every event.
		if s.Offered != st.EventsRaised || s.QueueLen != 0 {
			t.Errorf("subscription %s: offered %d of %d events raised, %d still queued", s.Name, s.Offered, st.EventsRaised, s.QueueLen)
		}
	}
	wantEvents := uint64(workers * connsPerWkr * 2)  // ACCEPTED, CLOSED
	wantEvents += uint64(workers * connsPerWkr / 10) // BAD_MESSAGE
	if st.EventsRaised != wantEvents {
		t.Errorf("%d events raised, want %d", st.EventsRaised, wantEvents)
	}

	// Our probe.
	// Whether the tiny queues drop depends on the machine's speed: only the
	// accounting must hold, drops or not.
	if p := subs["probe"]; probeReceived+p.Dropped != p.Offered {
		t.Errorf("probe: offered %d != received %d + dropped %d", p.Offered, probeReceived, p.Dropped)
	}

	// HEP: it observes every traced event inline (its queues are its
	// destinations'), then packets per destination.
	hc := a.hep.Counters()
	if hc.Events != st.EventsRaised {
		t.Errorf("hep: observed %d events of %d raised", hc.Events, st.EventsRaised)
	}
	for _, d := range a.hep.Stats() {
		offered := hc.Events + hc.Messages
		if d.PacketsSent+d.Drops.Total() != offered || d.QueueLen != 0 {
			t.Errorf("hep destination %s: %d packets offered != %d sent + %d dropped %+v (%d queued)", d.Name, offered, d.PacketsSent, d.Drops.Total(), d.Drops, d.QueueLen)
		}
		received := hr.waitPackets(d.PacketsSent)
		if received > d.PacketsSent {
			t.Errorf("hep receiver got %d packets, more than the %d sent", received, d.PacketsSent)
		}
		t.Logf("hep: %d events, %d messages; %d packets sent, drops %+v; %d received", hc.Events, hc.Messages, d.PacketsSent, d.Drops, received)
	}

	// OpenTelemetry: events, then spans.
	ots := a.otel.Stats()
	if osub := subs["otel"]; ots.EventsReceived+ots.Dropped.InputQueueFull != osub.Offered {
		t.Errorf("otel: offered %d != received %d + dropped %d", osub.Offered, ots.EventsReceived, ots.Dropped.InputQueueFull)
	}
	if ots.SpansStarted != ots.SpansEnded || ots.SpansEnded != ots.SpansExported+ots.SpansFailed+ots.Dropped.ExportQueueFull || ots.QueueLen != 0 {
		t.Errorf("otel spans: started %d, ended %d != exported %d + failed %d + dropped %d (%d queued)",
			ots.SpansStarted, ots.SpansEnded, ots.SpansExported, ots.SpansFailed, ots.Dropped.ExportQueueFull, ots.QueueLen)
	}
	or.mu.Lock()
	receivedSpans := uint64(len(or.spans))
	or.mu.Unlock()
	if receivedSpans != ots.SpansExported {
		t.Errorf("otel: the receiver got %d spans, the exporter counts %d exported", receivedSpans, ots.SpansExported)
	}
	t.Logf("otel: %d events received; spans %d started, %d exported, %d failed, %d dropped", ots.EventsReceived, ots.SpansStarted, ots.SpansExported, ots.SpansFailed, ots.Dropped.ExportQueueFull)

	// History: it observes every event inline, as HEP (every connection
	// here is traced).
	hst := a.history.Stats()
	if hst.Written+hst.Failed+hst.Dropped != st.EventsRaised {
		t.Errorf("history: %d events raised != written %d + failed %d + dropped %d", st.EventsRaised, hst.Written, hst.Failed, hst.Dropped)
	}
	t.Logf("history: %d written, %d failed, %d dropped; probe: %d received, %d dropped", hst.Written, hst.Failed, hst.Dropped, probeReceived, subs["probe"].Dropped)
}

// oneShot opens a connection, does one OPTIONS round trip (or, bad, sends a
// request without Content-Length and reads the 400) and closes it.
func oneShot(addr, callID string, bad bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	req := optionsRequest(callID, 1, 0)
	if bad {
		req = req[:len(req)-len("Content-Length: 0\r\n\r\n")]
		req = append(req, "\r\n"...)
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	m, err := readSIP(bufio.NewReader(c))
	if err != nil {
		return err
	}
	if bad {
		if !strings.HasPrefix(m.startLine, "SIP/2.0 400 ") {
			return &answerError{callID, m.startLine}
		}
		return nil
	}
	return checkAnswer(m, callID, 1)
}

type answerError struct{ callID, got string }

func (e *answerError) Error() string { return e.callID + ": got " + e.got }
