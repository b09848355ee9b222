package hep

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// trainBurst is how many messages the interop tests send as one burst:
// trains of packets of many sizes, within a default receive buffer.
const trainBurst = 64

// trainTracer is a tracer to udp:127.0.0.1:port that sends a burst as
// trains: one worker, and a batch delay that gathers the whole burst.
func trainTracer(t *testing.T, port int) *Tracer {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("UDP trains (UDP_SEGMENT) are Linux's")
	}
	return newTestTracer(t, Config{
		Destinations: []Destination{{Name: "trains", Host: "127.0.0.1", Port: port, Transport: UDP, Version: 3}},
		UDPWorkers:   1, BatchDelay: 50 * time.Millisecond,
		// What the sender logs (trains refused, a path MTU unknown) goes to
		// the test's output: a burst without trains says why.
		Logger: slog.New(slog.NewTextHandler(testLog{t}, nil)),
	})
}

// testLog writes to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// checkTrainsSent: the burst went as trains, all sent.
func checkTrainsSent(t *testing.T, tr *Tracer) {
	t.Helper()
	waitFor(t, "the burst sent", func() bool { return tr.Stats()[0].PacketsSent == trainBurst })
	if st := tr.Stats()[0]; st.Trains == 0 || st.PadBytes == 0 {
		t.Fatalf("stats %+v: the burst went without trains", st)
	}
}

// TestInteropTrainsKamailio: Kamailio's sipcapture decodes every packet
// of a burst sent as UDP trains (padded packets, a ChunkPadding chunk
// each) as the packet it is: its Call-ID as correlation id, its SIP
// message as payload.
func TestInteropTrainsKamailio(t *testing.T) {
	port, kam := startKamailio(t)
	tr := trainTracer(t, port)
	sent := trainTaps(tr, trainBurst)
	checkTrainsSent(t, tr)
	var got []kamailioPacket
	waitFor(t, "Kamailio to log every packet", func() bool {
		got = kamailioPackets(t, kam.output())
		return len(got) >= trainBurst
	})
	byCorr := map[string]kamailioPacket{}
	for _, g := range got {
		byCorr[g.correlation] = g
	}
	for i, want := range sent {
		g, ok := byCorr[fmt.Sprintf("train-%d@h", i)]
		switch {
		case !ok:
			t.Errorf("Kamailio decoded no packet train-%d@h", i)
		case g.payload != string(want) || g.protoType != "1" || g.src != evPeer || g.dst != evLocal:
			t.Errorf("train-%d@h: Kamailio decoded %+v, want payload %q", i, g, want)
		}
	}
	if len(got) != trainBurst {
		t.Errorf("Kamailio decoded %d packets, %d were sent", len(got), trainBurst)
	}
}

// TestInteropTrainsSngrep: sngrep, reading HEP over UDP, takes every
// packet of a burst sent as trains as its SIP message: one dialog each,
// and the payloads it writes to its pcap are the messages, in order.
func TestInteropTrainsSngrep(t *testing.T) {
	port, pcapFile, p := startSngrep(t)
	tr := trainTracer(t, port)
	sent := trainTaps(tr, trainBurst)
	checkTrainsSent(t, tr)
	waitFor(t, "sngrep to see every dialog", func() bool { return sngrepDialogCount(p.output()) >= trainBurst })
	p.stop()
	pkts := sngrepPackets(t, pcapFile)
	if len(pkts) != len(sent) {
		t.Fatalf("sngrep wrote %d packets, %d were sent", len(pkts), len(sent))
	}
	for i, want := range sent {
		pkt := pkts[i].Packet
		udp, ok := pkt.TransportLayer().(*layers.UDP)
		if !ok {
			t.Fatalf("packet %d: no UDP layer: %v", i, pkt)
		}
		if string(udp.Payload) != string(want) {
			t.Errorf("packet %d: payload\n%q\nwant\n%q", i, udp.Payload, want)
		}
	}
	if n := sngrepDialogCount(p.output()); n != trainBurst {
		t.Errorf("sngrep saw %d dialogs, %d were sent", n, trainBurst)
	}
}
