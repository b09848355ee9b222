package config

import "github.com/sipwire/sipwire/transport"

// TransportOptions returns the proto_tcp and core TCP settings as
// transport.Options. OpenSIPS' tcp_max_msg_chunks <= 0 (unlimited) becomes
// a negative MaxMsgChunks. TraceFilter is left nil: the caller compiles
// TraceFilterRoute (see RouteSource) and sets it.
func (c *Config) TransportOptions() transport.Options {
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
		SyncWrites:          !c.TCPAsync,
		MaxPostponedChunks:  c.TCPAsyncMaxPostponedChunks,
		LocalConnectTimeout: c.TCPAsyncLocalConnectTimeout,
		LocalWriteTimeout:   c.TCPAsyncLocalWriteTimeout,
		ParallelHandling:    c.TCPParallelHandling,
		MaxConnections:      c.TCPMaxConnections,
		ConnectionLifetime:  c.TCPConnectionLifetime,
		DisableKeepAlive:    !c.TCPKeepAlive,
		KeepAliveCount:      c.TCPKeepCount,
		KeepAliveIdle:       c.TCPKeepIdle,
		KeepAliveInterval:   c.TCPKeepInterval,
		MaxMessageBytes:     c.TCPMaxMsgSize,
		TraceOn:             c.TraceOn,
		TCPInfoInterval:     c.TCPInfoInterval,
		TCPInfoPerTick:      c.TCPInfoPerTick,
	}
}
