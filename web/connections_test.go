package web

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func TestConnectionsListGetAndClose(t *testing.T) {
	f := newFixture(t)
	if w := f.do(http.MethodGet, "/api/v1/connections", ""); w.Body.String() != `{"count":0,"connections":[]}` {
		t.Fatalf("empty table = %s", w.Body)
	}
	c1 := f.sipClient("conn-1")
	c2 := f.sipClient("conn-2")
	// The client reads the answer before the transport counts it as
	// written: wait (bounded) until both answers are counted.
	var list connectionsBody
	for range 500 {
		list = decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", ""))
		if len(list.Connections) == 2 && list.Connections[0].MsgsOut == 1 && list.Connections[1].MsgsOut == 1 {
			break
		}
		waitABit()
	}
	if list.Count != 2 || len(list.Connections) != 2 || list.Connections[0].ID >= list.Connections[1].ID {
		t.Fatalf("table = %+v", list)
	}
	var id uint64
	for _, cs := range list.Connections {
		if cs.Remote == c1.LocalAddr().String() {
			id = cs.ID
			if cs.Direction != "in" || cs.State != "open" || cs.Local != f.sip.String() || cs.MsgsIn != 1 || cs.MsgsOut != 1 {
				t.Errorf("snapshot = %+v", cs)
			}
		}
	}
	if id == 0 {
		t.Fatalf("client %s not in %+v", c1.LocalAddr(), list)
	}
	one := decode[transport.ConnSnapshot](t, f.do(http.MethodGet, fmt.Sprintf("/api/v1/connections/%d", id), ""))
	if one.ID != id || one.Remote != c1.LocalAddr().String() {
		t.Errorf("GET one = %+v", one)
	}

	w := f.do(http.MethodDelete, fmt.Sprintf("/api/v1/connections/%d?reason=maintenance", id), "", bearer...)
	if w.Code != 200 || w.Body.String() != fmt.Sprintf(`{"closed":%d,"reason":"maintenance"}`, id) {
		t.Fatalf("DELETE = %d %s", w.Code, w.Body)
	}
	c1.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c1.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after close = %d, %v; want EOF", n, err)
	}
	closed := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.ConnID == id })
	if closed.Reason != "maintenance" {
		t.Errorf("CLOSED reason %q", closed.Reason)
	}
	wantError(t, f.do(http.MethodDelete, fmt.Sprintf("/api/v1/connections/%d", id), "", bearer...), http.StatusNotFound, "not found")
	wantError(t, f.do(http.MethodGet, fmt.Sprintf("/api/v1/connections/%d", id), ""), http.StatusNotFound, "not found")
	_ = c2
	for _, bad := range []string{"abc", "0", "-1", "18446744073709551616"} {
		wantError(t, f.do(http.MethodDelete, "/api/v1/connections/"+bad, "", bearer...), http.StatusBadRequest, "not a positive integer")
		wantError(t, f.do(http.MethodGet, "/api/v1/connections/"+bad, ""), http.StatusBadRequest, "not a positive integer")
	}
	list = decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", ""))
	if list.Count != 1 {
		t.Errorf("after close: %+v", list)
	}
}

func TestCloseConnectionDefaultReason(t *testing.T) {
	f := newFixture(t)
	f.sipClient("c")
	id := decode[connectionsBody](t, f.do(http.MethodGet, "/api/v1/connections", "")).Connections[0].ID
	if w := f.do(http.MethodDelete, fmt.Sprintf("/api/v1/connections/%d", id), "", bearer...); w.Code != 200 {
		t.Fatalf("DELETE = %d %s", w.Code, w.Body)
	}
	e := f.waitEvent(func(e Event) bool { return e.Kind == "CLOSED" && e.ConnID == id })
	if e.Reason != CloseReason {
		t.Errorf("reason %q", e.Reason)
	}
}
