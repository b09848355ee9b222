package framing

import "strings"

// crlf turns the readable "\n"-separated test messages into CRLF wire form.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// withBody joins a header block written with "\n" line ends and a raw body,
// replacing the value "?" (of Content-Length) with the body's length.
func withBody(headers, body string) string {
	return crlf(strings.Replace(headers, ": ?", ": "+itoa(len(body)), 1)) + body
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

const sdp = "v=0\r\n" +
	"o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.101\r\n" +
	"t=0 0\r\n" +
	"m=audio 49172 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n"

var (
	msgInvite = withBody(`INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>
Content-Type: application/sdp
Content-Length: ?

`, sdp)

	msgRegister = crlf(`REGISTER sip:registrar.biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Bob <sip:bob@biloxi.example.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4;transport=tcp>
Expires: 7200
Content-Length: 0

`)

	msgOK = crlf(`SIP/2.0 200 OK
Via: SIP/2.0/TCP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3, SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=8321234356
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Contact: <sip:bob@client.biloxi.example.com;transport=tcp>
Content-Length: 0

`)

	msgRinging = crlf(`SIP/2.0 180 Ringing
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=8321234356
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 1 INVITE
Content-Length: 0

`)

	msgOptions = crlf(`OPTIONS sip:carol@chicago.example.com SIP/2.0
Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877
Max-Forwards: 70
To: <sip:carol@chicago.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 63104 OPTIONS
Accept: application/sdp
Content-Length: 0

`)

	msgCompact = withBody(`MESSAGE sip:user2@domain.example SIP/2.0
v: SIP/2.0/TCP user1pc.domain.example;branch=z9hG4bK776sgdkse
v: SIP/2.0/TCP proxy.domain.example;branch=z9hG4bK1
Max-Forwards: 70
f: sip:user1@domain.example;tag=49583
t: sip:user2@domain.example
i: asd88asd77a@1.2.3.4
CSeq: 1 MESSAGE
c: text/plain
l: ?

`, "Watson, come here.")
)

// seedMessages are the real SIP messages the tests and the fuzzer start from.
var seedMessages = []string{msgInvite, msgRegister, msgOK, msgRinging, msgOptions, msgCompact}
