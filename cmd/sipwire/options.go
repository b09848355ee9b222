package main

import (
	"github.com/sipwire/sipwire/cmd/sipwire/config"
	"github.com/sipwire/sipwire/transport"
)

// transportOptions maps the proto_tcp parameters of the config onto the
// transport's options. OpenSIPS' "<=0 means unlimited" for
// tcp_max_msg_chunks becomes the transport's negative value.
func transportOptions(c *config.Config) transport.Options {
	chunks := c.TCPMaxMsgChunks
	if chunks <= 0 {
		chunks = -1
	}
	return transport.Options{
		Port:                c.TCPPort,
		SendTimeout:         c.TCPSendTimeout,
		MaxMsgChunks:        chunks,
		MaxMsgTime:          c.TCPMaxMsgTime,
		DisableCRLFPingPong: !c.TCPCRLFPingPong,
		CRLFDrop:            c.TCPCRLFDrop,
		SyncWrites:          !c.TCPAsync,
		MaxPostponedChunks:  c.TCPAsyncMaxPostponedChunks,
		LocalConnectTimeout: c.TCPAsyncLocalConnectTimeout,
		LocalWriteTimeout:   c.TCPAsyncLocalWriteTimeout,
		ParallelHandling:    c.TCPParallelHandling,
		MaxConnections:      c.TCPMaxConnections,
		ConnectionLifetime:  c.TCPConnectionLifetime,
		MaxMessageBytes:     c.TCPMaxMsgSize,
		TraceOn:             c.TraceOn,
	}
}
