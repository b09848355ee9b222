package history

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// callMix is the history's share of one call in the load benchmark
// (deploy/bench): the Call-ID observations of the call on the client's and
// the upstream connection, and, with one client connection per call, that
// connection's ACCEPTED and CLOSED events.
type callMix struct {
	name string
	// connPerCall: a new client connection per call (its two events are
	// recorded); otherwise one client connection carries every call.
	connPerCall bool
	// rate is the benchmark's calls per second: the store is flushed every
	// rate calls, as its one-second FlushInterval does at that rate.
	rate int
	// randomIDs: Call-IDs of random hex, as most phones make them;
	// otherwise SIPp's, a call counter and a constant.
	randomIDs bool
	// paced: the calls come at rate per second, and the events through a
	// consumed channel (as a transport.Subscription delivers them), so
	// that the consumer wakes as often as in the load benchmark. With off,
	// the store is left alone: the CPU of the pacing itself.
	paced, off bool
}

var callMixes = []callMix{
	{name: "t1", connPerCall: false, rate: 4000},
	{name: "tn", connPerCall: true, rate: 2000},
	{name: "t1-random", connPerCall: false, rate: 4000, randomIDs: true},
	{name: "tn-random", connPerCall: true, rate: 2000, randomIDs: true},
	{name: "tn-paced", connPerCall: true, rate: 2000, paced: true},
	{name: "tn-paced-off", connPerCall: true, rate: 2000, paced: true, off: true},
}

// BenchmarkCallMix measures the CPU the store spends per call of the load
// benchmark's mixes (t1: 2 Call-ID rows per call; tn: 2 event rows and 2
// Call-ID rows per call), from ObserveCallID and the queue to the committed
// rows: cpu-ns/call is the process's CPU time (every goroutine of the store
// included) per call. The paced mixes run in real time (2,000 calls a
// second): run them with -benchtime 4000x or so; their cost is the
// difference to tn-paced-off.
func BenchmarkCallMix(b *testing.B) {
	for _, m := range callMixes {
		b.Run(m.name, func(b *testing.B) { benchCallMix(b, m) })
	}
}

func benchCallMix(b *testing.B, m callMix) {
	cfg := testConfig(b)
	cfg.FlushInterval = time.Hour
	s := openTest(b, cfg)
	ctx := context.Background()
	const upstream = 1
	client := netip.MustParseAddrPort("192.0.2.10:5060")
	local := netip.MustParseAddrPort("192.0.2.1:5060")
	// A Call-ID of 30-40 bytes: SIPp's "counter-pid@host", or 24 random
	// hex digits @host.
	const suffix = "@pc33.atlanta.example.com"
	callID := make([]byte, 0, 64)
	r := rand.New(rand.NewPCG(1, 2))
	var evs [1]transport.Event
	record := s.enqueue
	if m.paced {
		ch := make(chan transport.Event, 8192)
		defer close(ch)
		s.Consume(ch)
		record = func(evs []transport.Event) {
			select {
			case ch <- evs[0]:
			default:
			}
		}
	}
	pace := time.NewTicker(time.Second / time.Duration(m.rate))
	defer pace.Stop()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		if m.paced {
			<-pace.C
			if m.off {
				continue
			}
		}
		if m.randomIDs {
			callID = hex.AppendEncode(callID[:0], binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, r.Uint32()), r.Uint64()))
		} else {
			callID = append(strconv.AppendInt(callID[:0], int64(i), 10), "-31337"...)
		}
		callID = append(callID, suffix...)
		conn := uint64(2)
		if m.connPerCall {
			conn = uint64(i) + 2
			evs[0] = transport.Event{Kind: transport.EventAccepted, ConnID: conn, Time: time.Now(),
				Local: local, Remote: client, Listener: local, Reason: "Connection accepted"}
			record(evs[:])
		}
		s.ObserveCallID(conn, callID)
		s.ObserveCallID(upstream, callID)
		if m.connPerCall {
			evs[0] = transport.Event{Kind: transport.EventClosed, ConnID: conn, Time: time.Now(),
				Local: local, Remote: client, Listener: local, Reason: "EOF received"}
			record(evs[:])
		}
		if (i+1)%m.rate == 0 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := s.Stats()
	if st.Dropped != 0 || st.CallIDsDropped != 0 || st.Failed != 0 {
		b.Fatalf("dropped %d events, %d Call-IDs; failed %d", st.Dropped, st.CallIDsDropped, st.Failed)
	}
	if want := uint64(2 * b.N); st.CallIDsWritten != want && !m.off {
		b.Fatalf("wrote %d Call-IDs, want %d", st.CallIDsWritten, want)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/call")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
