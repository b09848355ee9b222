//go:build !linux

package transport

import "testing"

// epollEntries: there is no poller outside Linux.
func epollEntries(t *testing.T, _ *Transport) int {
	t.Helper()
	t.Skip("no epoll poller on this system")
	return 0
}
