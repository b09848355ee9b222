//go:build !linux

package transport

import (
	"errors"
	"log/slog"
)

var errNoPoller = errors.New("transport: no poller on this system")

// poller is Linux-only (epoll); elsewhere idle connections keep their
// readers.
type poller struct{}

func (*poller) watch(*Conn) error     { return errNoPoller }
func (*poller) schedule(*Conn, int64) {}
func (*poller) stop()                 {}
func (*poller) unwatch(int)           {}

func dupSocket(int) (int, error) { return -1, errNoPoller }
func closeSocketFD(int)          {}

func startPoller(*Transport, *slog.Logger) *poller { return nil }
