package web

import (
	"net/http"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/transport"
)

// CloseReason is the reason of the CLOSED event of a connection closed
// through DELETE /connections/{id} when the request gives none.
const CloseReason = "Closed by operator (web API)"

// MaxCloseReasonBytes bounds the reason= of DELETE /connections/{id}: it
// goes into the CLOSED event, the history and HEP.
const MaxCloseReasonBytes = 200

// connectionsBody is the body of GET /connections.
type connectionsBody struct {
	Count       int                      `json:"count"`
	Connections []transport.ConnSnapshot `json:"connections"`
}

func (s *Server) getConnections(c *gin.Context) error {
	conns := s.deps.Transport.Connections()
	if conns == nil {
		conns = []transport.ConnSnapshot{}
	}
	slices.SortFunc(conns, func(a, b transport.ConnSnapshot) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	c.JSON(http.StatusOK, connectionsBody{Count: len(conns), Connections: conns})
	return nil
}

// checkUserText refuses text that reaches events unless it is UTF-8 of
// printable characters (spaces but no tab, CR, LF, NUL or other control)
// and at most max bytes.
func checkUserText(name, text string, max int) error {
	if len(text) > max {
		return errorf(http.StatusBadRequest, "%s is %d bytes, longer than %d", name, len(text), max)
	}
	if !utf8.ValidString(text) {
		return errorf(http.StatusBadRequest, "%s is not UTF-8", name)
	}
	for i, r := range text {
		if !unicode.IsPrint(r) {
			return errorf(http.StatusBadRequest, "%s has the unprintable character %U at byte %d", name, r, i)
		}
	}
	return nil
}

func connID(c *gin.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, errorf(http.StatusBadRequest, "connection id %q is not a positive integer", c.Param("id"))
	}
	return id, nil
}

func (s *Server) getConnection(c *gin.Context) error {
	id, err := connID(c)
	if err != nil {
		return err
	}
	for _, cs := range s.deps.Transport.Connections() {
		if cs.ID == id {
			s.freshTCPInfo(&cs)
			c.JSON(http.StatusOK, cs)
			return nil
		}
	}
	return errorf(http.StatusNotFound, "connection %d not found", id)
}

// deleteConnection closes one connection; ?reason= overrides CloseReason.
func (s *Server) deleteConnection(c *gin.Context) error {
	id, err := connID(c)
	if err != nil {
		return err
	}
	reason := c.Query("reason")
	if reason == "" {
		reason = CloseReason
	}
	if err := checkUserText("reason", reason, MaxCloseReasonBytes); err != nil {
		return err
	}
	if !s.deps.Transport.CloseConn(id, reason) {
		return errorf(http.StatusNotFound, "connection %d not found", id)
	}
	s.log.Info("connection closed by the web API", append([]any{"conn", id, "reason", reason}, caller(c)...)...)
	c.JSON(http.StatusOK, gin.H{"closed": id, "reason": reason})
	return nil
}
