//go:build !linux

package hep

import "net"

// streamWriter returns how a worker writes to c: its Write.
func streamWriter(c net.Conn) func([]byte) error {
	return func(b []byte) error { _, err := c.Write(b); return err }
}
