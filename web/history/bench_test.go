package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// benchEvents makes n events of connections with four events each, from
// 20,000 remote IPs with random ports, spread over span up to end.
func benchEvents(n int, end time.Time, span time.Duration, seed uint64) []transport.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	local := netip.MustParseAddr("192.0.2.1")
	step := span / time.Duration(n)
	evs := make([]transport.Event, n)
	var remote, loc netip.AddrPort
	var dir transport.Direction
	for i := range evs {
		conn := uint64(i/4 + 1)
		if i%4 == 0 {
			ip := r.IntN(20000)
			rip := netip.AddrFrom4([4]byte{10, byte(ip >> 16), byte(ip >> 8), byte(ip)})
			dir = transport.Direction(r.IntN(5) / 4)
			if dir == transport.Inbound {
				remote, loc = netip.AddrPortFrom(rip, uint16(1024+r.IntN(60000))), netip.AddrPortFrom(local, 5060)
			} else {
				remote, loc = netip.AddrPortFrom(rip, 5060), netip.AddrPortFrom(local, uint16(1024+r.IntN(60000)))
			}
		}
		e := &evs[i]
		e.ConnID, e.Direction, e.Local, e.Remote = conn, dir, loc, remote
		e.Time = end.Add(-span + time.Duration(i)*step)
		if dir == transport.Inbound {
			e.Listener = netip.AddrPortFrom(local, 5060)
		}
		switch i % 4 {
		case 0:
			e.Kind, e.Reason = transport.EventAccepted, "Connection accepted"
			if dir == transport.Outbound {
				e.Kind, e.Reason = transport.EventConnected, "Successfully connected"
			}
		case 1, 2:
			if r.IntN(50) == 0 {
				e.Kind, e.Status, e.Reason = transport.EventReadError, transport.StatusFailure, "Read error: connection reset by peer"
			} else {
				e.Kind, e.Status, e.Reason = transport.EventIdleTimeout, transport.StatusSuccess, "Timeout on no traffic"
			}
		case 3:
			e.Kind, e.Reason = transport.EventClosed, "EOF received"
		}
	}
	return evs
}

// BenchmarkInsert measures the sustained insert rate of the writer with the
// default batching: events go through the queue as Consume puts them.
func BenchmarkInsert(b *testing.B) {
	cfg := testConfig(b)
	cfg.FlushInterval = DefaultFlushInterval
	s := openTest(b, cfg)
	const chunk = consumeBurst
	evs := benchEvents(1<<16, time.Now(), time.Hour, 1)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i += chunk {
		j := i % len(evs)
		s.enqueueAll(evs[j : j+min(chunk, b.N-i, len(evs)-j)])
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if st := s.Stats(); st.Written != uint64(b.N) || st.Dropped != 0 {
		b.Fatalf("written %d, dropped %d of %d", st.Written, st.Dropped, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine the wall-clock rate says more about the other
	// processes than about the store: the rate per CPU second does not.
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	// The checkpointer keeps the WAL from growing with the load.
	if fi, err := os.Stat(cfg.Path + "-wal"); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "wal-MiB")
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkObserveCallID measures the SIP handler's cost of a repeated
// Call-ID (the common case: every message of a dialog).
func BenchmarkObserveCallID(b *testing.B) {
	s := openTest(b, testConfig(b))
	id := []byte("a84b4c76e66710@pc33.atlanta.example.com")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		conn := rand.Uint64()
		for pb.Next() {
			s.ObserveCallID(conn, id)
		}
	})
}

// bench10MEnv names the database file of BenchmarkQuery10M: built with 10
// million events when missing (a few minutes), reused when present.
const bench10MEnv = "SIPWIRE_HISTORY_BENCH_10M"

const bench10MEvents = 10_000_000

// BenchmarkQuery10M measures queries on a store of 10 million events over
// six days. Set SIPWIRE_HISTORY_BENCH_10M to a file path to run it.
func BenchmarkQuery10M(b *testing.B) {
	path := os.Getenv(bench10MEnv)
	if path == "" {
		b.Skip("set " + bench10MEnv + "=/path/to/bench.db to build (once) and query a store of 10 million events")
	}
	ctx := context.Background()
	cfg := Config{Path: path, Retention: -1, MaxSize: -1, FlushInterval: time.Hour, RetentionInterval: time.Hour}
	s, err := Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx) //nolint:errcheck // a benchmark
	end := time.Now().Truncate(time.Hour)
	if st := s.Stats(); st.Stored < bench10MEvents {
		start := time.Now()
		bulkLoad(b, s, end)
		b.Logf("built %d events in %v (%.0f events/s), %d MiB", s.Stats().Stored, time.Since(start),
			float64(bench10MEvents)/time.Since(start).Seconds(), s.Stats().SizeBytes>>20)
	}
	var meta struct{ end int64 }
	if err := s.rdb.QueryRow("SELECT max(ts) FROM events").Scan(&meta.end); err != nil {
		b.Fatal(err)
	}
	end = time.UnixMicro(meta.end)
	sample := benchEvents(4000, end, 6*24*time.Hour, 7) // same shapes, for picking addresses
	r := rand.New(rand.NewPCG(3, 4))
	conns := int64(bench10MEvents / 4)
	run := int64(1)
	pick := func() transport.Event { return sample[r.IntN(len(sample))] }
	cases := []struct {
		name string
		f    func() Filter
	}{
		{"conn", func() Filter { return Filter{ConnID: uint64(1 + r.Int64N(conns)), Run: run} }},
		{"remote_ip_port", func() Filter { return Filter{Addr: pick().Remote.String()} }},
		{"ip_any_side", func() Filter { return Filter{Addr: pick().Remote.Addr().String()} }},
		{"ip_last_night", func() Filter {
			return Filter{Addr: pick().Remote.Addr().String(), Since: end.Add(-36 * time.Hour), Until: end.Add(-24 * time.Hour)}
		}},
		{"kind_rare", func() Filter { return Filter{Kinds: []transport.EventKind{transport.EventReadError}} }},
		{"kinds_two", func() Filter {
			return Filter{Kinds: []transport.EventKind{transport.EventReadError, transport.EventClosed}, Until: end.Add(-time.Duration(r.IntN(100)) * time.Hour)}
		}},
		{"time_range", func() Filter {
			t := end.Add(-time.Duration(r.IntN(140)) * time.Hour)
			return Filter{Since: t, Until: t.Add(time.Hour)}
		}},
		{"callid", func() Filter { return Filter{CallID: fmt.Sprintf("bench-%d@example.com", 10*(1+r.Int64N(conns/10)))} }},
		{"failures_text_1h", func() Filter {
			t := end.Add(-time.Duration(r.IntN(140)) * time.Hour)
			return Filter{Since: t, Until: t.Add(time.Hour), Text: "reset", Status: ptr(transport.StatusFailure)}
		}},
		{"newest_page", func() Filter { return Filter{} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				p, err := s.Query(ctx, c.f())
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Events)
			}
			b.ReportMetric(float64(n)/float64(b.N), "events/op")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// bulkLoad fills s with bench10MEvents events over six days up to end, and
// a Call-ID for every tenth connection, through the writer's batch insert in
// large transactions.
func bulkLoad(b *testing.B, s *Store, end time.Time) {
	ctx := context.Background()
	const batch = 100_000
	all := benchEvents(bench10MEvents, end, 6*24*time.Hour, 1)
	for i := 0; i < len(all); i += batch {
		evs := all[i:min(i+batch, len(all))]
		var cids []callIDObs
		for j := range evs {
			if evs[j].Kind == transport.EventClosed && evs[j].ConnID%10 == 0 {
				cids = append(cids, callIDObs{connID: evs[j].ConnID, hash: callIDHash(fmt.Appendf(nil, "bench-%d@example.com", evs[j].ConnID)), ts: evs[j].Time.UnixMicro()})
			}
		}
		if err := s.writeBatch(ctx, evs, cids); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.refreshStats(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpen10M measures Open on the store of BenchmarkQuery10M, with
// and without the integrity check (PRAGMA quick_check) it runs first. Set
// SIPWIRE_HISTORY_BENCH_10M to the file BenchmarkQuery10M built.
func BenchmarkOpen10M(b *testing.B) {
	path := os.Getenv(bench10MEnv)
	if path == "" {
		b.Skip("set " + bench10MEnv + "=/path/to/bench.db (built by BenchmarkQuery10M)")
	}
	for _, c := range []struct {
		name  string
		bound time.Duration
	}{{"unchecked", -1}, {"quick_check", time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := Config{Path: path, Retention: -1, MaxSize: -1, FlushInterval: time.Hour, RetentionInterval: time.Hour, IntegrityTimeout: c.bound}
			for b.Loop() {
				s, err := Open(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
