package history

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkCacheMemory measures the memory outside the Go heap (SQLite's,
// mostly its page caches) after writing a store several times larger than
// the writer's cache, with insert rates: the resident size of the process
// minus the Go runtime's own. Run one case per process
// (-bench 'BenchmarkCacheMemory/8MiB'): memory a closed store's
// connections freed may stay resident.
func BenchmarkCacheMemory(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int64
	}{{"2MiB", 2 << 20}, {"8MiB", 8 << 20}, {"64MiB", 64 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.CacheSize = c.cache
			s := openTest(b, cfg)
			before := nonGoResident(b)
			evs := benchEvents(1<<16, time.Now(), time.Hour, 1)
			const events = 1_500_000
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				for i := 0; i < events; i += consumeBurst {
					j := i % len(evs)
					s.enqueueAll(evs[j : j+min(consumeBurst, len(evs)-j)])
				}
				if err := s.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(events*b.N)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
			b.ReportMetric(float64(s.Stats().SizeBytes)/(1<<20), "store-MiB")
			b.ReportMetric(float64(nonGoResident(b)-before)/(1<<20), "non-Go-MiB")
		})
	}
}

// nonGoResident is the process's resident bytes minus what the Go runtime
// holds from the OS and has not released.
func nonGoResident(b testing.TB) int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb<<10 - int64(ms.Sys-ms.HeapReleased)
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
