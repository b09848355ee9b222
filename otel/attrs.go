package otel

import (
	"net/netip"

	"github.com/sipwire/sipwire/transport"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Span names.
const (
	SpanConnection    = "sip.tcp.connection"
	SpanOpen          = "sip.tcp.connection.open"
	SpanConnect       = "sip.tcp.connect"
	SpanAcceptRefused = "sip.tcp.accept_refused"
)

// sipwire's own attribute keys.
const (
	AttrConnectionID = attribute.Key("sipwire.connection.id")
	AttrDirection    = attribute.Key("sipwire.connection.direction")
	AttrListener     = attribute.Key("sipwire.listener")
	AttrCloseReason  = attribute.Key("sipwire.close.reason")
	AttrCloseStatus  = attribute.Key("sipwire.close.status")
	AttrEventReason  = attribute.Key("sipwire.event.reason")
	AttrEventStatus  = attribute.Key("sipwire.event.status")
	AttrPartial      = attribute.Key("sipwire.connection.partial")
	AttrEvicted      = attribute.Key("sipwire.connection.evicted")
	AttrOpenAtEnd    = attribute.Key("sipwire.connection.open_at_shutdown")
	AttrTracingOff   = attribute.Key("sipwire.connection.tracing_off")
	AttrLinkType     = attribute.Key("sipwire.link.type")
	// AttrEventsDropped counts the mid-life events of a connection beyond
	// the 128 its lifetime span keeps.
	AttrEventsDropped = attribute.Key("sipwire.connection.events_dropped")
)

// connAttrs are the attributes every span of a connection carries: the
// stable network.* attributes, client.* (inbound) or server.* (outbound) for
// the peer, and sipwire's connection id and direction.
func connAttrs(ev *transport.Event) []attribute.KeyValue {
	return appendInfoAttrs(make([]attribute.KeyValue, 0, 12), infoOf(ev))
}

// infoOf is the connection description that ev carries.
func infoOf(ev *transport.Event) transport.ConnInfo {
	return transport.ConnInfo{ID: ev.ConnID, Direction: ev.Direction, Local: ev.Local, Remote: ev.Remote, Listener: ev.Listener}
}

// appendInfoAttrs appends connAttrs for the connection that ci describes
// to a.
func appendInfoAttrs(a []attribute.KeyValue, ci transport.ConnInfo) []attribute.KeyValue {
	a = append(a, semconv.NetworkTransportTCP)
	remote := ci.Remote.Addr().Unmap()
	if remote.IsValid() {
		if remote.Is4() {
			a = append(a, semconv.NetworkTypeIPv4)
		} else {
			a = append(a, semconv.NetworkTypeIPv6)
		}
		addr, port := remote.String(), int(ci.Remote.Port())
		a = append(a, semconv.NetworkPeerAddress(addr), semconv.NetworkPeerPort(port))
		if ci.Direction == transport.Outbound {
			a = append(a, semconv.ServerAddress(addr), semconv.ServerPort(port))
		} else {
			a = append(a, semconv.ClientAddress(addr), semconv.ClientPort(port))
		}
	}
	if local := ci.Local.Addr().Unmap(); local.IsValid() {
		a = append(a, semconv.NetworkLocalAddress(local.String()), semconv.NetworkLocalPort(int(ci.Local.Port())))
	}
	if ci.ID != 0 {
		a = append(a, AttrConnectionID.Int64(int64(ci.ID)))
	}
	a = append(a, AttrDirection.String(ci.Direction.String()))
	if ci.Listener.IsValid() {
		a = append(a, AttrListener.String(addrPortString(ci.Listener)))
	}
	return a
}

// addrPortString formats ap with an unmapped address.
func addrPortString(ap netip.AddrPort) string {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// traceSchema ties the tracer to the semantic conventions used here.
func traceSchema() trace.TracerOption { return trace.WithSchemaURL(semconv.SchemaURL) }
