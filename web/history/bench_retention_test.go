package history

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRetention measures what deleting a stored event costs (in a
// store at its bounds, every event written is deleted some day): a store
// of b.N events, all past Retention, is emptied by EnforceRetention.
func BenchmarkRetention(b *testing.B) {
	cfg := testConfig(b)
	s := openTest(b, cfg)
	ctx := context.Background()
	end := time.Now().Add(-48 * time.Hour)
	evs := benchEvents(b.N, end, time.Hour, 1)
	for i := 0; i < len(evs); i += 8192 {
		record(b, s, evs[i:min(i+8192, len(evs))]...)
	}
	s.cfg.Retention = 24 * time.Hour
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	if err := s.EnforceRetention(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := s.Stats(); st.Stored != 0 {
		b.Fatalf("%d events left", st.Stored)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
}
