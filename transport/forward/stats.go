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
	Rejected        uint64 `json:"rejected"`            // 400, 404, 416, 482
	// BadExtension: 420, the request's Proxy-Require named extensions
	// (sipwire supports none that a proxy must; RFC 3261 §16.3 step 5).
	BadExtension uint64 `json:"bad_extension"`

	// Rejections counts the refused requests by reason, whatever became of
	// them: answered (counted in Rejected too), or dropped (an ACK, or a
	// request without Via).
	Rejections Rejections `json:"rejections"`

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
	// ACKToLocalReply: ACKs of sipwire's own negative responses (their To
	// tag is the one sipwire derives), absorbed rather than forwarded.
	ACKToLocalReply uint64 `json:"ack_to_local_reply"`
}

// Rejections counts refused requests by reason: malformed ones by defect
// (RFC 3261 §8.1.1, §16.3 step 1), whose answer's phrase names it ("400
// Missing Call-ID"), then loops and requests with no next hop.
type Rejections struct {
	MissingVia     uint64 `json:"missing_via"` // dropped: nowhere to answer
	BadVia         uint64 `json:"bad_via"`
	BadRequestURI  uint64 `json:"bad_request_uri"`
	URIScheme      uint64 `json:"unsupported_uri_scheme"` // 416
	MissingTo      uint64 `json:"missing_to"`
	BadTo          uint64 `json:"bad_to"`
	MissingFrom    uint64 `json:"missing_from"`
	BadFrom        uint64 `json:"bad_from"`
	MissingCSeq    uint64 `json:"missing_cseq"`
	BadCSeq        uint64 `json:"bad_cseq"`
	CSeqMethod     uint64 `json:"cseq_method_mismatch"`
	MissingCallID  uint64 `json:"missing_call_id"`
	BadCallID      uint64 `json:"bad_call_id"`
	BadMaxForwards uint64 `json:"bad_max_forwards"` // not 0-255
	// Duplicate: a second To, From, CSeq, Call-ID or Max-Forwards.
	Duplicate uint64 `json:"duplicate_header"`
	BadRoute  uint64 `json:"bad_route"`
	// LoopDetected: 482, the next Route is sipwire again.
	LoopDetected uint64 `json:"loop_detected"`
	// NotFound: 404, no next hop (a host name toward a client, which
	// sipwire does not resolve, or no address at all).
	NotFound uint64 `json:"not_found"`
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
	rejected, sendErrors, badExtension       atomic.Uint64
	reqMalformed, reqACK, ackLocal           atomic.Uint64
	rejections                               [numDefects]atomic.Uint64
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
		BadExtension:       c.badExtension.Load(),
		Rejections:         c.rejectionStats(),
		SendErrors:         c.sendErrors.Load(),
		DroppedRequests: DroppedRequests{
			Malformed:       c.reqMalformed.Load(),
			ACK:             c.reqACK.Load(),
			ACKToLocalReply: c.ackLocal.Load(),
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

func (c *counters) rejectionStats() Rejections {
	n := func(d defect) uint64 { return c.rejections[d].Load() }
	return Rejections{
		MissingVia:     n(defectNoVia),
		BadVia:         n(defectBadVia),
		BadRequestURI:  n(defectRequestURI),
		URIScheme:      n(defectURIScheme),
		MissingTo:      n(defectNoTo),
		BadTo:          n(defectBadTo),
		MissingFrom:    n(defectNoFrom),
		BadFrom:        n(defectBadFrom),
		MissingCSeq:    n(defectNoCSeq),
		BadCSeq:        n(defectBadCSeq),
		CSeqMethod:     n(defectCSeqMethod),
		MissingCallID:  n(defectNoCallID),
		BadCallID:      n(defectBadCallID),
		BadMaxForwards: n(defectMaxForwards),
		Duplicate: n(defectDupTo) + n(defectDupFrom) + n(defectDupCSeq) +
			n(defectDupCallID) + n(defectDupMaxForwards),
		BadRoute:     n(defectBadRoute),
		LoopDetected: n(defectLoop),
		NotFound:     n(defectNotFound),
	}
}
