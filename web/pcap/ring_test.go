package pcap

import (
	"fmt"
	"net/netip"
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
