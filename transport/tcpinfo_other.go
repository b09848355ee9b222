//go:build !linux

package transport

import "syscall"

// readTCPInfo: TCP_INFO is read on Linux only.
func readTCPInfo(syscall.RawConn) (*TCPInfo, error) { return nil, ErrNoTCPInfo }
