package web

import (
	"encoding/json"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

// FuzzMI feeds arbitrary bodies to the MI handler: it never panics, always
// answers a JSON-RPC 2.0 object with exactly one of result and error (or
// nothing for a notification), and changes tracing only when it answers
// "OK".
func FuzzMI(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","method":"tcp_trace","id":1}`,
		`{"jsonrpc":"2.0","method":"tcp_trace","params":["on"],"id":2}`,
		`{"jsonrpc":"2.0","method":"trace","params":{"trace_mode":"off"},"id":"x"}`,
		`{"jsonrpc":"2.0","method":"tcp_trace","params":[1e300],"id":3}`,
		`{"jsonrpc":"2.0","method":"tcp_trace","params":{"trace_mode":null}}`,
		`[{"jsonrpc":"2.0"}]`, `{`, `null`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	tr := transport.New(transport.Options{}, transport.HandlerFunc(echoOptions))
	f.Cleanup(func() { tr.Close() })
	s, err := New(Config{}, Deps{Transport: tr})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Shutdown(f.Context()) })
	f.Fuzz(func(t *testing.T, body []byte) {
		before := tr.Tracing()
		resp, notification := s.runMI(body, nil)
		if notification {
			return
		}
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("response does not marshal: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		_, hasResult := m["result"]
		_, hasError := m["error"]
		if string(m["jsonrpc"]) != `"2.0"` || hasResult == hasError || m["id"] == nil {
			t.Fatalf("bad response %s", b)
		}
		if resp.Result != "OK" && tr.Tracing() != before {
			t.Fatalf("tracing changed by %s -> %s", body, b)
		}
	})
}
