package pcap

import (
	"bytes"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

var (
	testLocal  = netip.MustParseAddrPort("127.0.0.1:5060")
	testRemote = netip.MustParseAddrPort("127.0.0.1:40000")
	testEpoch  = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

func sipMessage(callID string, bodyLen int) []byte {
	body := make([]byte, bodyLen)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	return fmt.Appendf(nil, "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-%s\r\n"+
		"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"+
		"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", callID, callID, bodyLen, body)
}

func tapped(conn uint64, dir transport.MessageDirection, at time.Time, callID string, bodyLen int) *transport.TracedMessage {
	return &transport.TracedMessage{
		Conn:      transport.ConnInfo{ID: conn, Local: testLocal, Remote: testRemote},
		Direction: dir,
		Time:      at,
		Data:      sipMessage(callID, bodyLen),
		CallID:    []byte(callID),
	}
}

func TestRingCopiesMessages(t *testing.T) {
	r := NewRing(0)
	m := tapped(1, transport.Received, testEpoch, "c1", 0)
	r.TapMessage(m)
	want := string(m.Data)
	for i := range m.Data {
		m.Data[i] = 'X'
	}
	m.CallID[0] = 'X'
	got := r.Snapshot(Filter{})
	if len(got) != 1 || string(got[0].Data) != want || got[0].CallID != "c1" || got[0].Seq != 1 {
		t.Fatalf("snapshot = %+v, want the original message kept", got)
	}
}

func TestRingEvictsOldestWithinBound(t *testing.T) {
	one := len(sipMessage("c00", 100)) + len("c00") + headerSize
	r := NewRing(3*one + one/2)
	for i := range 10 {
		r.TapMessage(tapped(1, transport.Received, testEpoch.Add(time.Duration(i)*time.Second), fmt.Sprintf("c%02d", i), 100))
	}
	got := r.Snapshot(Filter{})
	if len(got) != 3 {
		t.Fatalf("kept %d records, want 3", len(got))
	}
	for i, rec := range got {
		if want := fmt.Sprintf("c%02d", 7+i); rec.CallID != want {
			t.Errorf("record %d is %s, want %s", i, rec.CallID, want)
		}
	}
	st := r.Stats()
	if st.Messages != 3 || st.Captured != 10 || st.Evicted != 7 || st.TooLarge != 0 {
		t.Errorf("stats = %+v", st)
	}
	if st.Bytes != 3*len(sipMessage("c00", 100)) {
		t.Errorf("bytes = %d", st.Bytes)
	}
}

func TestRingRefusesMessageLargerThanBound(t *testing.T) {
	r := NewRing(2000)
	r.TapMessage(tapped(1, transport.Received, testEpoch, "small", 0))
	r.TapMessage(tapped(1, transport.Received, testEpoch, "big", 3000))
	st := r.Stats()
	if st.Messages != 1 || st.TooLarge != 1 || st.Evicted != 0 {
		t.Fatalf("stats = %+v, want the small message kept and the big one refused", st)
	}

	exact := tapped(1, transport.Received, testEpoch, "exact", 0)
	size, _, _ := recordSize(exact)
	r = NewRing(size)
	r.TapMessage(exact)
	r.TapMessage(tapped(1, transport.Received, testEpoch, "exact", 1))
	r.TapMessage(exact)
	if st := r.Stats(); st.Messages != 1 || st.Captured != 2 || st.Evicted != 1 || st.TooLarge != 1 {
		t.Fatalf("stats = %+v, want a message of exactly the bound kept and one byte more refused", st)
	}
}

func TestRingFilter(t *testing.T) {
	r := NewRing(0)
	r.TapMessage(tapped(1, transport.Received, testEpoch, "a", 0))
	r.TapMessage(tapped(2, transport.Received, testEpoch.Add(time.Second), "b", 0))
	r.TapMessage(tapped(1, transport.Sent, testEpoch.Add(2*time.Second), "c", 0))
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"a", "b", "c"}},
		{"conn", Filter{ConnID: 1}, []string{"a", "c"}},
		{"since", Filter{Since: testEpoch.Add(time.Second)}, []string{"b", "c"}},
		{"both", Filter{ConnID: 2, Since: testEpoch.Add(2 * time.Second)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, rec := range r.Snapshot(tt.f) {
				got = append(got, rec.CallID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRingSnapshotSurvivesLaterMessages(t *testing.T) {
	one := len(sipMessage("c00", 200)) + len("c00") + headerSize
	r := NewRing(5 * one)
	var sent []*transport.TracedMessage
	for i := range 5 {
		m := tapped(1, transport.Received, testEpoch, fmt.Sprintf("c%02d", i), 200)
		r.TapMessage(m)
		sent = append(sent, m)
	}
	snap := checkSuffix(t, r, sent)
	for i := range 50 {
		r.TapMessage(tapped(2, transport.Sent, testEpoch, fmt.Sprintf("x%02d", i), 200))
	}
	for i, rec := range snap {
		if want := sent[len(sent)-len(snap)+i]; !bytes.Equal(rec.Data, want.Data) || rec.CallID != string(want.CallID) || rec.ConnID != 1 {
			t.Fatalf("snapshot record %d changed after later messages: Call-ID %q conn %d", i, rec.CallID, rec.ConnID)
		}
	}
	if cap(snap[0].Data) != len(snap[0].Data) {
		t.Errorf("record Data has spare capacity %d: an append would overwrite the next record", cap(snap[0].Data))
	}
}

func TestRingRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name          string
		local, remote netip.AddrPort
		at            time.Time
	}{
		{"v4", testLocal, testRemote, testEpoch.Add(123456789)},
		{"v6 zones", netip.MustParseAddrPort("[fe80::1%eth0]:5060"), netip.MustParseAddrPort("[fe80::2%lo]:1"), testEpoch},
		{"mapped", netip.MustParseAddrPort("[::ffff:127.0.0.1]:5060"), netip.MustParseAddrPort("[::1]:65535"), testEpoch},
		{"no addresses", netip.AddrPort{}, netip.AddrPortFrom(netip.Addr{}, 7), testEpoch},
		{"zero time", testLocal, testRemote, time.Time{}},
		{"before 1970", testLocal, testRemote, time.Date(1901, 2, 3, 4, 5, 6, 7, time.UTC)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(0)
			m := &transport.TracedMessage{
				Conn:      transport.ConnInfo{ID: uint64(i) + 1<<40, Local: tt.local, Remote: tt.remote},
				Direction: transport.Sent,
				Time:      tt.at,
				Data:      sipMessage("rt", i),
				CallID:    []byte("rt"),
			}
			r.TapMessage(m)
			got := r.Snapshot(Filter{})
			if len(got) != 1 {
				t.Fatalf("%d records", len(got))
			}
			rec := got[0]
			if rec.Local != tt.local || rec.Remote != tt.remote || !rec.Time.Equal(tt.at) || rec.Time.IsZero() != tt.at.IsZero() ||
				rec.ConnID != m.Conn.ID || rec.Direction != transport.Sent || rec.CallID != "rt" || !bytes.Equal(rec.Data, m.Data) {
				t.Fatalf("got %v %v %v conn %d %v %q, want %v %v %v conn %d",
					rec.Local, rec.Remote, rec.Time, rec.ConnID, rec.Direction, rec.CallID, tt.local, tt.remote, tt.at, m.Conn.ID)
			}
		})
	}
}

func TestRingTapAllocatesNothingOnceFull(t *testing.T) {
	r := NewRing(64 << 10)
	m := tapped(1, transport.Received, testEpoch, "steady", 300)
	for range 1000 {
		r.TapMessage(m)
	}
	if r.Stats().Evicted == 0 {
		t.Fatal("ring not full yet")
	}
	if n := testing.AllocsPerRun(1000, func() { r.TapMessage(m) }); n != 0 {
		t.Fatalf("TapMessage allocates %v times per message on a full ring", n)
	}
}

// TestRingConcurrentTapAndSnapshot runs taps and snapshots together (run it
// with -race) and checks that every snapshot is consistent.
func TestRingConcurrentTapAndSnapshot(t *testing.T) {
	const writers, perWriter = 4, 2000
	r := NewRing(32 << 10)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				r.TapMessage(tapped(uint64(w+1), transport.Received, testEpoch.Add(time.Duration(i)), fmt.Sprintf("w%d-%d", w, i), i%700))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for snaps := 0; ; snaps++ {
		select {
		case <-done:
			st := r.Stats()
			if st.Captured != writers*perWriter || uint64(st.Messages)+st.Evicted != st.Captured {
				t.Fatalf("stats %+v after %d messages", st, writers*perWriter)
			}
			t.Logf("%d snapshots taken during the writes", snaps)
			return
		default:
		}
		recs := r.Snapshot(Filter{})
		for i, rec := range recs {
			if i > 0 && rec.Seq != recs[i-1].Seq+1 {
				t.Fatalf("snapshot seq %d follows %d", rec.Seq, recs[i-1].Seq)
			}
			if !bytes.Contains(rec.Data, []byte("Call-ID: "+rec.CallID+"\r\n")) || rec.ConnID != uint64(rec.CallID[1]-'0'+1) {
				t.Fatalf("record %d: Call-ID %q conn %d does not match its message", rec.Seq, rec.CallID, rec.ConnID)
			}
		}
	}
}

// TestRingSnapshotCopiesWhatIsHeld checks that a snapshot of a ring holding
// few messages allocates about what they take, not the ring's bound (its
// arena's size).
func TestRingSnapshotCopiesWhatIsHeld(t *testing.T) {
	r := NewRing(64 << 20)
	r.TapMessage(tapped(1, transport.Received, testEpoch, "c1", 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := r.Snapshot(Filter{})
	runtime.ReadMemStats(&after)
	if len(got) != 1 {
		t.Fatalf("snapshot of %d records, want 1", len(got))
	}
	if allocs := after.TotalAlloc - before.TotalAlloc; allocs > 1<<20 {
		t.Fatalf("a snapshot of one message allocated %d bytes in a ring of %d", allocs, 64<<20)
	}
}
