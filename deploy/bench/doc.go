// Command bench is sipwire's load benchmark against Kamailio.
//
// SIPp's built-in uac sends calls over TCP to a forwarder on
// 127.0.0.1:5060, which relays them to SIPp's built-in uas on
// 127.0.0.1:5070. The forwarders are sipwire with tracing off and on, and
// Kamailio forwarding statelessly, plain and with siptrace mirroring every
// message as HEP. For each forwarder and each SIPp transport mode (t1: one
// connection, tn: one connection per call) it measures the CPU time the
// forwarder's processes spend per completed call at a fixed rate, the highest
// call rate with no failed call, and the memory one idle connection holds,
// and writes them as a markdown report.
//
// It starts its own receivers: a HEP counter on UDP 127.0.0.1:9060 and an
// OTLP/HTTP receiver on 127.0.0.1:4318. It must run in a network namespace of
// its own (the ports are fixed, and tn runs leave thousands of sockets in
// TIME_WAIT); run.sh in this folder sets that up:
//
//	sudo bash deploy/bench/run.sh
package main
