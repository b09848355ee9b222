package forward

import "sync/atomic"

// Stats are the Forwarder's counters since New.
type Stats struct {
	// Forwarding is whether an upstream is configured.
	Forwarding bool `json:"forwarding"`
	// Upstream is the upstream's address, when forwarding.
	Upstream string `json:"upstream,omitempty"`
	// Advertise is the address in sipwire's Via and Record-Route, once
	// attached.
	Advertise string `json:"advertise,omitempty"`

	RequestsForwarded  uint64 `json:"requests_forwarded"`
	ResponsesForwarded uint64 `json:"responses_forwarded"`

	// LocalReplies counts every response sipwire made itself; the counters
	// after it split them by kind.
	LocalReplies    uint64 `json:"local_replies"`
	OptionsAnswered uint64 `json:"options_answered"`    // 200 to OPTIONS
	TooManyHops     uint64 `json:"too_many_hops"`       // 483
	Unavailable     uint64 `json:"service_unavailable"` // 503: the next hop unreachable
	NotImplemented  uint64 `json:"not_implemented"`     // 501: forwarding off
	Rejected        uint64 `json:"rejected"`            // 400, 404, 482

	// SendErrors counts forwarded messages that could not be sent, at once
	// or later (a background connect that failed).
	SendErrors uint64 `json:"send_errors"`

	DroppedRequests  DroppedRequests  `json:"dropped_requests"`
	DroppedResponses DroppedResponses `json:"dropped_responses"`
}

// DroppedRequests counts requests neither forwarded nor answered.
type DroppedRequests struct {
	// Malformed: too broken to answer (no Via, From, To, Call-ID or CSeq).
	Malformed uint64 `json:"malformed"`
	// ACK: ACKs that could not be forwarded (an ACK is never answered).
	ACK uint64 `json:"ack"`
}

// DroppedResponses counts responses not forwarded, by reason.
type DroppedResponses struct {
	// NotOurs: the top Via is not sipwire's.
	NotOurs uint64 `json:"not_ours"`
	// NoRoute: the connection is gone and no next Via gives an address.
	NoRoute uint64 `json:"no_route"`
	// SendFailed: sending to the next Via's address failed.
	SendFailed uint64 `json:"send_failed"`
	// Malformed: no parsable top Via.
	Malformed uint64 `json:"malformed"`
	// ForwardingOff: no upstream is configured, or not attached yet.
	ForwardingOff uint64 `json:"forwarding_off"`
}

type counters struct {
	requests, responses                      atomic.Uint64
	local, options, hops, unavailable, n501  atomic.Uint64
	rejected, sendErrors                     atomic.Uint64
	reqMalformed, reqACK                     atomic.Uint64
	respNotOurs, respNoRoute, respSendFailed atomic.Uint64
	respMalformed, respOff                   atomic.Uint64
}

// Stats returns the counters now.
func (f *Forwarder) Stats() Stats {
	c := &f.c
	s := Stats{
		Forwarding:         f.upstream.IsValid(),
		RequestsForwarded:  c.requests.Load(),
		ResponsesForwarded: c.responses.Load(),
		LocalReplies:       c.local.Load(),
		OptionsAnswered:    c.options.Load(),
		TooManyHops:        c.hops.Load(),
		Unavailable:        c.unavailable.Load(),
		NotImplemented:     c.n501.Load(),
		Rejected:           c.rejected.Load(),
		SendErrors:         c.sendErrors.Load(),
		DroppedRequests: DroppedRequests{
			Malformed: c.reqMalformed.Load(),
			ACK:       c.reqACK.Load(),
		},
		DroppedResponses: DroppedResponses{
			NotOurs:       c.respNotOurs.Load(),
			NoRoute:       c.respNoRoute.Load(),
			SendFailed:    c.respSendFailed.Load(),
			Malformed:     c.respMalformed.Load(),
			ForwardingOff: c.respOff.Load(),
		},
	}
	if s.Forwarding {
		s.Upstream = f.upstream.String()
	}
	if a := f.att.Load(); a != nil {
		s.Advertise = a.adv.String()
	}
	return s
}
