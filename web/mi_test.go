package web

import (
	"net/http"
	"testing"
)

// TestMIAnswersLikeOpenSIPS compares whole response bodies with what
// OpenSIPS' mi_http answers for tcp_trace (member order included).
func TestMIAnswersLikeOpenSIPS(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name      string
		body      string
		wantBody  string
		wantTrace bool
	}{
		{"query, no params", `{"jsonrpc":"2.0","method":"tcp_trace","id":1}`,
			`{"jsonrpc":"2.0","result":{"TCP tracing":"off"},"id":1}`, false},
		{"on by position", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":2}`,
			`{"jsonrpc":"2.0","result":"OK","id":2}`, true},
		{"query after on, empty array", `{"jsonrpc":"2.0","method":"tcp_trace","params":[],"id":"a"}`,
			`{"jsonrpc":"2.0","result":{"TCP tracing":"on"},"id":"a"}`, true},
		{"off by name, 4.0 name", `{"jsonrpc":"2.0","method":"trace","params":{"trace_mode":"off"},"id":3}`,
			`{"jsonrpc":"2.0","result":"OK","id":3}`, false},
		{"on, module-qualified name, upper case", `{"jsonrpc":"2.0","method":"tcp:trace","params":{"trace_mode":"ON"},"id":4}`,
			`{"jsonrpc":"2.0","result":"OK","id":4}`, true},
		{"query, empty object, null id", `{"jsonrpc":"2.0","method":"trace","params":{},"id":null}`,
			`{"jsonrpc":"2.0","result":{"TCP tracing":"on"},"id":null}`, true},
		{"onX is refused", `{"jsonrpc":"2.0","method":"tcp_trace","params":["onX"],"id":5}`,
			`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"trace_mode should be 'on' or 'off'"},"id":5}`, true},
		{"number param", `{"jsonrpc":"2.0","method":"tcp_trace","params":[1],"id":6}`,
			`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"trace_mode should be 'on' or 'off'"},"id":6}`, true},
		{"bool param", `{"jsonrpc":"2.0","method":"tcp_trace","params":[true],"id":7}`,
			`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"Bad type for parameter 'trace_mode'"},"id":7}`, true},
		{"two params", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on","off"],"id":8}`,
			`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"Too few or too many parameters"},"id":8}`, true},
		{"wrong name", `{"jsonrpc":"2.0","method":"tcp_trace","params":{"mode":"off"},"id":9}`,
			`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"Named parameters do not match"},"id":9}`, true},
		{"unknown method", `{"jsonrpc":"2.0","method":"ps","id":10}`,
			`{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":10}`, true},
		{"parse error", `{"jsonrpc":"2.0",`,
			`{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}`, true},
		{"wrong version", `{"jsonrpc":"1.0","method":"tcp_trace","id":11}`,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":11}`, true},
		{"method not a string", `{"jsonrpc":"2.0","method":5,"id":12}`,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":12}`, true},
		{"params a string", `{"jsonrpc":"2.0","method":"tcp_trace","params":"on","id":13}`,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":13}`, true},
		{"batch", `[{"jsonrpc":"2.0","method":"tcp_trace","id":14}]`,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}`, true},
		{"object id", `{"jsonrpc":"2.0","method":"tcp_trace","id":{}}`,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}`, true},
	}
	for _, path := range []string{"/api/v1/mi", "/mi"} {
		f.tr.SetTracing(false)
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				w := f.do(http.MethodPost, path, tt.body, bearer...)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				if got := w.Body.String(); got != tt.wantBody {
					t.Errorf("body\n got %s\nwant %s", got, tt.wantBody)
				}
				if f.tr.Tracing() != tt.wantTrace {
					t.Errorf("tracing %v, want %v", f.tr.Tracing(), tt.wantTrace)
				}
			})
		}
	}
}

func TestMINotificationsAndEmptyBody(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodPost, "/api/v1/mi", `{"jsonrpc":"2.0","method":"tcp_trace","params":["on"]}`, bearer...)
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 || !f.tr.Tracing() {
		t.Fatalf("notification: %d %q, tracing %v", w.Code, w.Body, f.tr.Tracing())
	}
	// A failing notification gets no answer either, as in OpenSIPS.
	w = f.do(http.MethodPost, "/api/v1/mi", `{"jsonrpc":"2.0","method":"nope"}`, bearer...)
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 {
		t.Fatalf("failing notification: %d %q", w.Code, w.Body)
	}
	// But a notification that is not valid JSON-RPC is answered.
	w = f.do(http.MethodPost, "/api/v1/mi", `{"jsonrpc":"2.0"}`, bearer...)
	if w.Code != http.StatusOK || w.Body.String() != `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}` {
		t.Fatalf("invalid notification: %d %s", w.Code, w.Body)
	}
	wantError(t, f.do(http.MethodPost, "/api/v1/mi", "  ", bearer...), http.StatusBadRequest, "empty request")
}
