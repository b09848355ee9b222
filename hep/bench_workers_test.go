package hep

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// udpReader drains a UDP socket on 127.0.0.1 with recvmmsg and counts the
// datagrams it received.
type udpReader struct {
	conn *net.UDPConn
	got  atomic.Uint64
	done chan struct{}
}

func newUDPReader(b *testing.B) *udpReader {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadBuffer(8 << 20)
	r := &udpReader{conn: c, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		pc := ipv4.NewPacketConn(c)
		ms := make([]ipv4.Message, 64)
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, 65536)}
		}
		for {
			n, err := pc.ReadBatch(ms, 0)
			if err != nil {
				return
			}
			r.got.Add(uint64(n))
		}
	}()
	b.Cleanup(func() {
		c.Close()
		<-r.done
	})
	return r
}

func (r *udpReader) dest() Destination {
	return Destination{Name: "reader", Host: "127.0.0.1", Port: r.conn.LocalAddr().(*net.UDPAddr).Port, Transport: UDP, Version: 3}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burn keeps the CPU busy for d.
func burn(d time.Duration) uint64 {
	var x uint64
	for start := time.Now(); time.Since(start) < d; {
		for i := range 64 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	return x
}

// udpRound is what one run of a sender load measured.
type udpRound struct {
	sent, dropped, received uint64
	elapsed, cpu            time.Duration
}

func (r *udpRound) add(o udpRound) {
	r.sent += o.sent
	r.dropped += o.dropped
	r.received += o.received
	r.elapsed += o.elapsed
	r.cpu += o.cpu
}

// udpLoad is one way of offering packets to a UDP destination.
type udpLoad struct {
	producers int
	conns     int           // distinct connection ids, spread over the producers
	packets   int           // per round, over every producer
	rate      int           // packets per second over every producer; 0: as fast as the queue allows
	bodyLen   int           // of the traced SIP message; the HEP packet is ~400 bytes more
	work      time.Duration // CPU each producer burns per packet, as the SIP work that traced it
	queue     int           // Config.QueueSize
	workers   int           // Config.UDPWorkers
	reader    *udpReader
}

// run starts a tracer, offers the packets, waits until every one is sent or
// dropped and the reader has had a moment to catch up, and measures.
func (l udpLoad) run(b *testing.B) udpRound {
	tr, err := New(Config{
		Destinations: []Destination{l.reader.dest()}, Format: FormatOpenSIPS, Logger: quietLogger(),
		UDPWorkers: l.workers, QueueSize: l.queue, QueueBytes: 1 << 30,
	})
	if err != nil {
		b.Fatal(err)
	}
	s := tr.senders[0]
	m := tapped("a84b4c76e66710@pc33.atlanta.example.com", "bench", l.bodyLen)
	rx0, cpu0, start := l.reader.got.Load(), cpuTime(), time.Now()
	var wg sync.WaitGroup
	per := l.packets / l.producers
	for g := range l.producers {
		wg.Go(func() {
			mm := *m
			var next time.Time
			tick := time.Millisecond
			perTick := 0
			if l.rate > 0 {
				perTick = max(l.rate/l.producers/1000, 1)
				next = time.Now()
			}
			for i := range per {
				mm.Conn.ID = uint64(1 + (g+i*l.producers)%l.conns)
				switch {
				case l.rate > 0 && i%perTick == 0:
					next = next.Add(tick)
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
				case l.rate == 0 && i%64 == 0:
					for s.queuedPkts.Load() > int64(l.queue/2) {
						time.Sleep(20 * time.Microsecond)
					}
				}
				if l.work > 0 {
					burn(l.work)
				}
				tr.TapMessage(&mm)
			}
		})
	}
	wg.Wait()
	total := uint64(per * l.producers)
	for {
		st := tr.Stats()[0]
		if st.PacketsSent+st.Drops.Total() >= total {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	// The reader may still be behind by what the socket buffer holds.
	for prev := uint64(0); ; {
		time.Sleep(2 * time.Millisecond)
		got := l.reader.got.Load()
		if got == prev || got-rx0 >= total {
			break
		}
		prev = got
	}
	cpu := cpuTime() - cpu0
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	tr.Close(ctx)
	st := tr.Stats()[0]
	return udpRound{sent: st.PacketsSent, dropped: st.Drops.Total(), received: l.reader.got.Load() - rx0, elapsed: elapsed, cpu: cpu}
}

// BenchmarkSenderUDPWorkers compares one UDP worker with several, in the
// same run, rounds interleaved (the machine is shared, so only the ratio
// means something). Several goroutines tap SIP messages of conns
// connections into one UDP destination; a reader drains the socket with
// recvmmsg. One op is one round of each configuration.
//
//   - max: producers hold the queue below half full, so nothing is dropped
//     and the rate is what the sender sustains;
//   - paced150k: 150,000 packets/s offered (the Kamailio benchmark's
//     10,000 calls/s at 14 packets a call, plus margin), with the default
//     queue: the drops say whether the sender keeps up;
//   - paced150k+work: the same, each producer also burning 6 µs of CPU per
//     packet (sipwire forwards a SIP message in about that), so that on 2
//     cores the sender competes for the CPU as it does in the benchmark.
//
// Metrics, for 1 worker (w1) and the default number (wN; the environment
// variable HEP_BENCH_UDP_WORKERS sets another): pkts/s sent,
// received/sent, drops, CPU ns per packet (the whole process: producers,
// their work, sender, reader), and x = wN's rate / w1's.
func BenchmarkSenderUDPWorkers(b *testing.B) {
	n := (&Config{}).udpWorkers()
	if v, err := strconv.Atoi(os.Getenv("HEP_BENCH_UDP_WORKERS")); err == nil && v > 0 {
		n = v
	}
	for _, c := range []struct {
		name  string
		rate  int
		work  time.Duration
		conns int
	}{
		{"max/conns=2", 0, 0, 2},
		{"max/conns=64", 0, 0, 64},
		{"paced150k/conns=2", 150000, 0, 2},
		{"paced150k+work/conns=2", 150000, 6 * time.Microsecond, 2},
		{"paced150k+work/conns=64", 150000, 6 * time.Microsecond, 64},
	} {
		b.Run(fmt.Sprintf("%s/workers=1vs%d", c.name, n), func(b *testing.B) {
			r := newUDPReader(b)
			load := udpLoad{producers: 4, conns: c.conns, packets: 150000, rate: c.rate, work: c.work, bodyLen: 100, queue: DefaultQueueSize, reader: r}
			var one, many udpRound
			for b.Loop() {
				load.workers = 1
				one.add(load.run(b))
				load.workers = n
				many.add(load.run(b))
				runtime.GC()
			}
			rate := func(r udpRound) float64 { return float64(r.sent) / r.elapsed.Seconds() }
			b.ReportMetric(rate(one), "w1-pkts/s")
			b.ReportMetric(rate(many), "wN-pkts/s")
			b.ReportMetric(rate(many)/rate(one), "x")
			b.ReportMetric(float64(one.dropped), "w1-drops")
			b.ReportMetric(float64(many.dropped), "wN-drops")
			b.ReportMetric(float64(one.received)/float64(max(one.sent, 1)), "w1-rx/sent")
			b.ReportMetric(float64(many.received)/float64(max(many.sent, 1)), "wN-rx/sent")
			b.ReportMetric(float64(one.cpu.Nanoseconds())/float64(max(one.sent, 1)), "w1-cpu-ns/pkt")
			b.ReportMetric(float64(many.cpu.Nanoseconds())/float64(max(many.sent, 1)), "wN-cpu-ns/pkt")
			b.ReportMetric(0, "ns/op")
		})
	}
}
