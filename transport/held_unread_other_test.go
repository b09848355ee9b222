//go:build !linux

package transport

import "net"

// unread is -1: only Linux is asked for a socket's unread bytes here.
func unread(net.Conn) int { return -1 }
