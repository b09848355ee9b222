// Package forward relays SIP statelessly (RFC 3261 §16.11) between the
// clients of a transport and one upstream SIP server. A Forwarder is the
// transport's Handler.
//
// # Requests
//
// A request's Max-Forwards is checked and decremented (70 is added when it
// has none; at zero the request is answered with 483 Too Many Hops on its
// own connection, an OPTIONS with 200). A top Route naming sipwire is
// removed (loose routing, §16.4). sipwire then adds its Via on top,
//
//	Via: SIP/2.0/TCP ADVERTISE;branch=z9hG4bKsw<hash>;cid=<connection id>
//
// where the hash covers the incoming top Via's branch and sent-by (or, for a
// branch without the magic cookie, the From and To tags, Call-ID, CSeq
// number, Request-URI and top Via), never the method: a retransmission and
// the CANCEL of an INVITE get the INVITE's branch. cid is the id of the
// connection the request came on, so that its responses find their way back
// without per-transaction state. The sender's Via gets received= when its
// sent-by host is not the source address, and rport= (and received=) when it
// carries an empty rport (RFC 3581). With Config.RecordRoute, INVITE,
// SUBSCRIBE, REFER and NOTIFY get
//
//	Record-Route: <sip:ADVERTISE;transport=tcp;lr;cid=<client connection id>>
//
// whose cid lets an in-dialog request from the upstream reach the client over
// the connection the dialog was set up on, even when the client's Contact
// names another port (as a TCP client's does).
//
// The next hop is the remaining top Route when there is one; else, for a
// request from the upstream toward a client (an in-dialog BYE of the callee),
// the client connection named by the removed Route's cid or the
// Request-URI's address (an open connection to it, or one of its RFC 5923
// aliases, is reused; otherwise one is opened); else the upstream. A request
// goes toward a client when its connection's peer is the upstream address,
// or the peer's IP is the upstream's and its top Via names the upstream
// address, or the removed Route's cid names another open connection. When
// sending fails (the upstream unreachable, also when
// a background connect fails later), a non-ACK request is answered with 503.
//
// Requests addressed to sipwire itself: an OPTIONS whose Request-URI names
// the advertised address with no user part (sipwire's keep-alive check), or
// any OPTIONS with Max-Forwards 0, is answered with 200. Any other request
// whose Request-URI names sipwire is, coming from a client, forwarded to the
// upstream, which sipwire fronts as an outbound proxy does (SIPp's uac
// addresses sip:service@sipwire); coming from the upstream it has nowhere to
// go and is answered with 404. A remaining Route naming sipwire again is
// answered with 482 Loop Detected. A next hop that is not an IP address
// (sipwire does no DNS on the hot path) is the upstream for a client's
// request and 404 for a request toward a client.
//
// # Responses
//
// The top Via must be sipwire's (advertised host and port, branch prefix
// z9hG4bKsw); otherwise the response is dropped and counted. It is removed
// and the response goes out on the connection named by its cid when that is
// still open; else over the client's connection from the next Via's
// received:rport, or a new connection to received (or sent-by host) and
// sent-by port (RFC 3261 §18.2.2). Responses that cannot be routed are
// dropped and counted.
//
// # No upstream
//
// With no upstream configured the Forwarder forwards nothing: it answers
// OPTIONS with 200, every other request but ACK with 501 Not Implemented,
// and drops responses (counted). This is sipwire's behaviour until
// forwarding is configured.
//
// # Cost
//
// Messages are rewritten by splicing the original bytes at offsets into one
// pooled buffer: nothing is parsed into maps or strings, and a forwarded
// message over an open connection costs no allocation.
package forward
