package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// JSON-RPC 2.0 error codes and messages as OpenSIPS' MI answers them.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcMethodNotFound = -32601
	rpcInvalidParams  = -32602
)

// The MI error texts OpenSIPS uses for tcp_trace.
const (
	miTraceModeText  = "trace_mode should be 'on' or 'off'"
	miParamCountText = "Too few or too many parameters"
	miParamNameText  = "Named parameters do not match"
	miParamTypeText  = "Bad type for parameter 'trace_mode'"
)

// miMethods are the names of OpenSIPS' proto_tcp trace command: "tcp_trace"
// (3.x, and the alias in 4.0), "trace" and "tcp:trace" (4.0).
var miMethods = map[string]bool{"tcp_trace": true, "trace": true, "tcp:trace": true}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

// rpcResponse keeps OpenSIPS' member order: jsonrpc, result or error, id.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
	ID      json.RawMessage `json:"id"`
}

// postMI is OpenSIPS' MI over HTTP (mi_http, JSON-RPC 2.0) for the tcp_trace
// command: without trace_mode it answers {"TCP tracing":"on"|"off"}; with
// "on" or "off" (by name or by position) it sets trace_on and answers "OK".
// Other values fail with -32602 "Invalid params" and OpenSIPS' text; unlike
// OpenSIPS, "onX" is not taken as on. Like mi_http, a JSON-RPC error is an
// HTTP 200, and a notification (no id) is answered 202 without a body.
func (s *Server) postMI(c *gin.Context) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", tooBig.Limit)
		}
		return errorf(http.StatusBadRequest, "read request: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(http.StatusBadRequest, "empty request: a JSON-RPC 2.0 request is expected")
	}
	resp, notification := s.runMI(body, caller(c))
	if notification {
		c.Status(http.StatusAccepted)
		return nil
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

// runMI runs one JSON-RPC request; who (log attributes) says who sent it.
// notification is true when no response is to be sent.
func (s *Server) runMI(body []byte, who []any) (resp rpcResponse, notification bool) {
	resp = rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null")}
	var req map[string]json.RawMessage
	if !json.Valid(body) {
		resp.Error = &rpcError{Code: rpcParseError, Message: "Parse error"}
		return resp, false
	}
	if err := json.Unmarshal(body, &req); err != nil {
		resp.Error = &rpcError{Code: rpcInvalidRequest, Message: "Invalid Request"}
		return resp, false
	}
	id, hasID := req["id"]
	validID := !hasID || isRPCID(id)
	if hasID && validID {
		resp.ID = id
	}
	var version, method string
	params, hasParams := req["params"]
	if !validID || json.Unmarshal(req["jsonrpc"], &version) != nil || version != "2.0" ||
		json.Unmarshal(req["method"], &method) != nil ||
		(hasParams && !isArrayOrObject(params)) {
		resp.Error = &rpcError{Code: rpcInvalidRequest, Message: "Invalid Request"}
		return resp, false
	}
	result, rerr := s.miCommand(method, params, who)
	if !hasID {
		return resp, true
	}
	if rerr != nil {
		resp.Error = rerr
	} else {
		resp.Result = result
	}
	return resp, false
}

// miCommand runs method with params (a JSON array, object, or nothing); who
// (log attributes) says who sent it.
func (s *Server) miCommand(method string, params json.RawMessage, who []any) (any, *rpcError) {
	if !miMethods[method] {
		return nil, &rpcError{Code: rpcMethodNotFound, Message: "Method not found"}
	}
	mode, rerr := traceModeParam(params)
	if rerr != nil {
		return nil, rerr
	}
	if mode == nil {
		return map[string]string{"TCP tracing": onOff(s.deps.Transport.Tracing())}, nil
	}
	was := s.deps.Transport.Tracing()
	switch strings.ToLower(*mode) {
	case "on":
		s.deps.Transport.SetTracing(true)
	case "off":
		s.deps.Transport.SetTracing(false)
	default:
		return nil, &rpcError{Code: rpcInvalidParams, Message: "Invalid params", Data: miTraceModeText}
	}
	s.log.Info("tracing set by MI", append([]any{"trace", strings.ToLower(*mode), "was", onOff(was)}, who...)...)
	return "OK", nil
}

// traceModeParam extracts trace_mode from params; nil means none was given
// (no params, or an empty array or object, as OpenSIPS treats them).
func traceModeParam(params json.RawMessage) (*string, *rpcError) {
	var value json.RawMessage
	var arr []json.RawMessage
	var obj map[string]json.RawMessage
	switch {
	case len(params) == 0 || string(params) == "null":
		return nil, nil
	case json.Unmarshal(params, &arr) == nil:
		if len(arr) == 0 {
			return nil, nil
		}
		if len(arr) != 1 {
			return nil, &rpcError{Code: rpcInvalidParams, Message: "Invalid params", Data: miParamCountText}
		}
		value = arr[0]
	case json.Unmarshal(params, &obj) == nil:
		if len(obj) == 0 {
			return nil, nil
		}
		if len(obj) != 1 {
			return nil, &rpcError{Code: rpcInvalidParams, Message: "Invalid params", Data: miParamCountText}
		}
		v, ok := obj["trace_mode"]
		if !ok {
			return nil, &rpcError{Code: rpcInvalidParams, Message: "Invalid params", Data: miParamNameText}
		}
		value = v
	}
	var str string
	if json.Unmarshal(value, &str) == nil {
		return &str, nil
	}
	var num float64
	if json.Unmarshal(value, &num) == nil {
		// OpenSIPS prints a number parameter as an integer string.
		str = strconv.FormatInt(int64(num), 10)
		return &str, nil
	}
	return nil, &rpcError{Code: rpcInvalidParams, Message: "Invalid params", Data: miParamTypeText}
}

// isRPCID reports whether raw is a JSON string, number or null.
func isRPCID(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch v.(type) {
	case nil, string, float64:
		return true
	}
	return false
}

func isArrayOrObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && (t[0] == '[' || t[0] == '{')
}
