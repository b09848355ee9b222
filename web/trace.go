package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// traceBody is the body of GET and PUT /trace.
type traceBody struct {
	Trace string `json:"trace"`
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func (s *Server) getTrace(c *gin.Context) error {
	c.JSON(http.StatusOK, traceBody{Trace: onOff(s.deps.Transport.Tracing())})
	return nil
}

// putTrace sets trace_on. Only "on" and "off" are accepted: OpenSIPS'
// tcp_trace takes anything starting with "on" as on; we do not.
func (s *Server) putTrace(c *gin.Context) error {
	var body struct {
		Trace *string `json:"trace"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if body.Trace == nil || (*body.Trace != "on" && *body.Trace != "off") {
		return errorf(http.StatusBadRequest, `trace must be "on" or "off", as in {"trace":"on"}`)
	}
	on := *body.Trace == "on"
	was := s.deps.Transport.Tracing()
	s.deps.Transport.SetTracing(on)
	s.log.Info("tracing set by the web API", append([]any{"trace", *body.Trace, "was", onOff(was)}, caller(c)...)...)
	c.JSON(http.StatusOK, traceBody{Trace: onOff(s.deps.Transport.Tracing())})
	return nil
}

// decodeJSON reads one JSON object from the request body into v, refusing
// unknown fields and trailing data.
func decodeJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", tooBig.Limit)
		case errors.Is(err, io.EOF):
			return errorf(http.StatusBadRequest, "empty request body: a JSON object is expected")
		default:
			return errorf(http.StatusBadRequest, "bad JSON body: %v", err)
		}
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "bad JSON body: data after the object")
	}
	return nil
}
