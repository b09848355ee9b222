// Package forward relays SIP statelessly (RFC 3261 §16.11) between the
// clients of a transport and one upstream SIP server. A Forwarder is the
// transport's Handler.
//
// # Requests
//
// A request is checked first (see Refused requests). Its Max-Forwards is
// decremented (70 is added when it has none; at zero the request is
// answered with 483 Too Many Hops on its own connection, an OPTIONS with
// 200). A top Route naming sipwire is
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
// The lines sipwire inserts (Via, Record-Route, Max-Forwards) end as the
// request's start line does: a request written with bare LF is relayed
// with bare LF throughout, not with mixed line ends. The rest of the
// message is relayed byte for byte rather than normalised to CRLF.
//
// # Refused requests
//
// Before relaying, the forwarder checks what RFC 3261 §16.3 step 1 asks a
// proxy to check and §8.1.1 makes mandatory, in this order, and answers
// the first defect with a phrase that names it:
//
//   - Via present ("Missing Via") and its first via-parm parsable ("400
//     Bad Via");
//   - the Request-URI: a scheme, a colon, something after it, no <, > or
//     quotes (RFC 4475 ltgtruri); a sip: or sips: URI must parse and carry
//     no headers (escruri) ("400 Bad Request-URI"); tel: and urn: (the
//     urn:service:sos of emergency calls, RFC 5031) are relayed as they
//     are; another scheme gets "416 Unsupported URI Scheme" (§16.3 step 2;
//     unkscm, novelsc);
//   - To and From present ("400 Missing To") and each a name-addr (a
//     display name of tokens or one closed quoted string, a URI without
//     blanks in <>) or an addr-spec ("400 Bad To": quotbal, badaspec,
//     baddn);
//   - CSeq present, 1*DIGIT below 2^31, then the request's method exactly
//     ("400 Bad CSeq", "400 CSeq Method Mismatch": scalar02, mismatch01,
//     mismatch02);
//   - Call-ID present and one word without blanks ("400 Missing Call-ID",
//     "400 Bad Call-ID");
//   - Max-Forwards, optional, 0 to 255 ("400 Bad Max-Forwards": 300 is not
//     relayed as 299);
//   - none of To, From, CSeq, Call-ID and Max-Forwards twice ("400
//     Duplicate CSeq": multi01).
//
// A request to be relayed whose Proxy-Require names option-tags gets "420
// Bad Extension" with an Unsupported header listing them all (§16.3 step
// 5: sipwire supports no extension a proxy must; Stats.BadExtension); an
// ACK with one is relayed, as it cannot be answered.
//
// A malformed top Route gets "400 Bad Route". Stats.Rejections counts each
// defect. The answer copies the request's Via headers, From, To, Call-ID
// and CSeq as far as they are there, and invents none of them (RFC 4475
// §3.3.1 asks for a 400 to a request without Call-ID, From and To): the
// client matches it to its transaction by the Via branch and the CSeq
// (§17.1.3), and a client that cannot simply discards it. A request
// without Via cannot be answered at all (a response goes back along the
// Via, §18.2.2): it is dropped and counted (Stats.DroppedRequests.Malformed
// and Rejections.MissingVia). An ACK is never answered: a malformed one is
// dropped and counted too.
//
// The ACK of a negative response sipwire made itself (400, 404, 416, 482,
// 483, 503) is absorbed and counted (DroppedRequests.ACKToLocalReply)
// rather than forwarded, where it would only start a connect to a dead
// upstream or reach a server that never saw the INVITE. Statelessly: when
// the request had no To tag, sipwire's response carries one derived from
// the Call-ID and the From tag (framing.AppendResponse), and the ACK
// (§17.1.1.3: same Call-ID and From, the response's To) is recognised by
// deriving it again (framing.IsLocalTag). The response to a request that
// already had a To tag (a re-INVITE) must keep that tag (§8.2.6.2), so the
// ACK of a local reply to a re-INVITE cannot be told apart and is
// forwarded like any other in-dialog ACK.
//
// A request line with a SIP version other than 2.0 never reaches the
// forwarder: the framer reports it (framing.ErrVersion) and the transport
// answers 505 Version Not Supported and closes, as it does for the other
// framing errors.
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
