package otel

import "github.com/sipwire/sipwire/transport"

// Observe implements transport.Observer for the trace switch: switching
// tracing off ends the lifetime spans of open connections at once (see
// TracingOff). The exporter's events come through its subscription
// (ConsumeSubscription), handled on the exporter's own goroutine.
func (e *Exporter) Observe(o *transport.Observation) {
	if o.Kind == transport.ObservedTraceSwitch && !o.TraceOn {
		e.TracingOff()
	}
}
