//go:build !linux

package transport

import (
	"net"
	"os"
	"time"
)

// Elsewhere an accepted connection is not known to inherit the listener's
// settings: Go sets them on each connection.

func (k keepAlive) listenConfig() net.ListenConfig {
	return net.ListenConfig{KeepAlive: -1, KeepAliveConfig: k.goConfig()}
}

func (k keepAlive) dialer(local net.Addr) net.Dialer {
	return net.Dialer{LocalAddr: local, KeepAlive: -1, KeepAliveConfig: k.goConfig()}
}

// goConfig is k for Go, where -1 leaves the system's value.
func (k keepAlive) goConfig() net.KeepAliveConfig {
	if !k.on {
		return net.KeepAliveConfig{}
	}
	secs := func(n int) time.Duration {
		if n == 0 {
			return -1
		}
		return time.Duration(n) * time.Second
	}
	count := k.count
	if count == 0 {
		count = -1
	}
	return net.KeepAliveConfig{Enable: true, Idle: secs(k.idle), Interval: secs(k.interval), Count: count}
}

// set is never called: Go applies goConfig.
func (k keepAlive) set(int) error { return nil }

// fileConn is net.FileConn: connections detach on Linux only.
func fileConn(f *os.File) (net.Conn, error) { return net.FileConn(f) }
