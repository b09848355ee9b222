package hep

import (
	"strconv"

	"github.com/sipwire/sipwire/transport"
)

// appendTCPInfo appends the kernel's figures of an event's connection to a
// Homer payload as `,"TCP":{"state":"...","rtt_us":N,...}`, with the keys
// of transport.TCPInfoKeys: the same names as the history, the events API
// and the OpenTelemetry attributes (sipwire.tcp.*).
func appendTCPInfo(b []byte, ti *transport.TCPInfo) []byte {
	b = append(b, `,"TCP":{"state":"`...)
	b = append(b, ti.State.String()...)
	b = append(b, '"')
	for _, f := range ti.Fields() {
		b = append(b, ',', '"')
		b = append(b, f.Key...)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, f.Value, 10)
	}
	return append(b, '}')
}
