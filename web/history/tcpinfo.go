package history

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// The kernel's figures of a connection (transport.TCPInfo) that CLOSED and
// the error event before it carry are stored in two columns of their row
// (migration 3): tcp_retrans, the segments retransmitted over the
// connection's life (TotalRetrans), for Filter.MinRetrans, and tcp, every
// figure packed (tcpBlob). Events without figures leave both NULL, which
// SQLite stores in no space.

// tcpBlobVersion is the first byte of a packed TCPInfo.
const tcpBlobVersion = 1

// errBadTCPBlob: a tcp column this code cannot read.
var errBadTCPBlob = errors.New("history: bad tcp column")

// tcpBlob packs ti: the version, the state, the reading's time as µs from
// the event's (a signed varint), the number of figures, then each figure
// of ti.Fields as a uvarint, in transport.TCPInfoKeys' order (a later
// version with more figures appends them). About 25 bytes.
func tcpBlob(ti *transport.TCPInfo, eventTS int64) []byte {
	b := make([]byte, 0, 3+binary.MaxVarintLen64+transport.NumTCPInfoFields*binary.MaxVarintLen32)
	b = append(b, tcpBlobVersion, byte(ti.State))
	b = binary.AppendVarint(b, ti.At.UnixMicro()-eventTS)
	b = append(b, transport.NumTCPInfoFields)
	for _, f := range ti.Fields() {
		b = binary.AppendUvarint(b, f.Value)
	}
	return b
}

// parseTCPBlob unpacks what tcpBlob packed; figures a newer version added
// are skipped.
func parseTCPBlob(b []byte, eventTS int64) (*transport.TCPInfo, error) {
	if len(b) < 3 || b[0] != tcpBlobVersion {
		return nil, errBadTCPBlob
	}
	ti := &transport.TCPInfo{State: transport.TCPState(b[1])}
	at, n := binary.Varint(b[2:])
	if n <= 0 || 2+n >= len(b) {
		return nil, errBadTCPBlob
	}
	ti.At = time.UnixMicro(eventTS + at).UTC()
	b = b[2+n:]
	count := int(b[0])
	b = b[1:]
	var v [transport.NumTCPInfoFields]uint32
	for i := range count {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errBadTCPBlob
		}
		b = b[n:]
		if i < len(v) {
			v[i] = uint32(x)
		}
	}
	ti.RTT, ti.RTTVar, ti.Retransmits, ti.TotalRetrans, ti.Lost, ti.Unacked, ti.Cwnd = v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	ti.SendQueue, ti.NotSent, ti.RecvQueue, ti.SendWindow, ti.LastSend, ti.LastRecv, ti.Probes = v[7], v[8], v[9], v[10], v[11], v[12], v[13]
	ti.Backoff = v[14]
	return ti, nil
}

// tcpArgs are the tcp_retrans and tcp column values of e.
func tcpArgs(e *transport.Event, ts int64) (retrans, blob any) {
	if e.TCP == nil {
		return nil, nil
	}
	return int64(e.TCP.TotalRetrans), tcpBlob(e.TCP, ts)
}
