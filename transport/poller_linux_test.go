package transport

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// epollEntries counts the descriptors registered in the transport's poller
// (/proc/self/fdinfo of its epoll set).
func epollEntries(t *testing.T, tr *Transport) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(tr.poller.epfd))
	if err != nil {
		t.Skipf("no fdinfo: %v", err)
	}
	return strings.Count(string(data), "tfd:")
}
