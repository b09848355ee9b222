package otel

import (
	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
)

// AttrTCPPrefix is the namespace of the kernel's figures of a connection
// (transport.TCPInfo) on its lifetime span: "sipwire.tcp.state" and
// "sipwire.tcp." + each key of transport.TCPInfoKeys ("sipwire.tcp.rtt_us",
// "sipwire.tcp.total_retrans", ...).
const AttrTCPPrefix = "sipwire.tcp."

// AttrTCPState is the TCP state when the connection closed ("established",
// "close-wait", ...).
const AttrTCPState = attribute.Key(AttrTCPPrefix + "state")

// tcpAttrKeys are the attribute keys of the figures, in the order of
// transport.TCPInfoKeys, built once.
var tcpAttrKeys = func() (k [transport.NumTCPInfoFields]attribute.Key) {
	for i, name := range transport.TCPInfoKeys {
		k[i] = attribute.Key(AttrTCPPrefix + name)
	}
	return k
}()

// appendTCPAttrs appends the kernel's last figures of a connection to a as
// sipwire.tcp.* attributes; nothing when ti is nil.
func appendTCPAttrs(a []attribute.KeyValue, ti *transport.TCPInfo) []attribute.KeyValue {
	if ti == nil {
		return a
	}
	a = append(a, AttrTCPState.String(ti.State.String()))
	for i, f := range ti.Fields() {
		a = append(a, tcpAttrKeys[i].Int64(int64(f.Value)))
	}
	return a
}
