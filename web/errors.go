package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Sentinel errors of the package; every error New and Start return wraps one.
var (
	// ErrConfig: a Config field is invalid.
	ErrConfig = errors.New("web: invalid config")
	// ErrTokenRequired: the listen address is not a loopback one and no
	// token is set.
	ErrTokenRequired = errors.New("web: a token is required to listen on a non-loopback address")
	// ErrNoTransport: Deps.Transport is nil.
	ErrNoTransport = errors.New("web: no transport")
	// ErrListen: the listen address could not be bound.
	ErrListen = errors.New("web: listen")
	// ErrBadEventQuery: an EventStore refused a query (a bad cursor, filter
	// or export format); EventStore errors that wrap it are answered with a
	// 400 rather than a 503.
	ErrBadEventQuery = errors.New("web: bad event query")
)

// apiError is an error with the HTTP status it is answered with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error string `json:"error"`
}

// handlerFunc is a route handler that returns its error for writeError.
type handlerFunc func(c *gin.Context) error

// handle adapts h to gin: an error is answered by writeError.
func handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			writeError(c, err)
		}
	}
}

// writeError answers err as {"error": "..."}, with the status of an apiError
// or 500 for any other error.
func writeError(c *gin.Context, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.status
	}
	c.AbortWithStatusJSON(status, errorBody{Error: err.Error()})
}
