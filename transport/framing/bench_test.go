package framing

import "testing"

// BenchmarkFramerINVITE frames a ~630-byte INVITE with SDP, whole.
func BenchmarkFramerINVITE(b *testing.B) {
	buf := []byte(msgInvite)
	var f Framer
	var r Result
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		f.Next(buf, &r)
		if r.Kind != Message {
			b.Fatal(r.Kind)
		}
	}
}

// BenchmarkFramerPipelined frames INVITE, 180, 200, a ping and REGISTER
// arriving in one read.
func BenchmarkFramerPipelined(b *testing.B) {
	buf := []byte(msgInvite + msgRinging + msgOK + "\r\n\r\n" + msgRegister)
	var f Framer
	var r Result
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for rest := buf; len(rest) > 0; rest = rest[r.N:] {
			f.Next(rest, &r)
			if r.N == 0 {
				b.Fatal(r.Kind)
			}
		}
	}
}

// benchSplit frames the INVITE delivered in reads of size bytes, calling
// Next after each read as the connection reader does.
func benchSplit(b *testing.B, size int) {
	buf := []byte(msgInvite)
	var f Framer
	var r Result
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for end := size; ; end += size {
			f.Next(buf[:min(end, len(buf))], &r)
			if r.Kind == Message {
				break
			}
		}
	}
}

func BenchmarkFramerSplit1(b *testing.B)   { benchSplit(b, 1) }
func BenchmarkFramerSplit64(b *testing.B)  { benchSplit(b, 64) }
func BenchmarkFramerSplit200(b *testing.B) { benchSplit(b, 200) }

// BenchmarkAppendResponse forms the 400 for the INVITE into a reused buffer.
func BenchmarkAppendResponse(b *testing.B) {
	var f Framer
	var r Result
	f.Next([]byte(msgInvite), &r)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendResponse(dst[:0], &r.Frame, 400, "Missing Content-Length")
	}
}

// BenchmarkSipgoStreamINVITE is sipgo's stream parser on the same INVITE,
// for comparison.
func BenchmarkSipgoStreamINVITE(b *testing.B) {
	buf := []byte(msgInvite)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if msgs, ok := sipgoStream(buf); !ok || len(msgs) != 1 {
			b.Fatal("sipgo failed")
		}
	}
}
