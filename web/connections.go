package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/transport"
)

// CloseReason is the reason of the CLOSED event of a connection closed
// through DELETE /connections/{id} when the request gives none.
const CloseReason = "Closed by operator (web API)"

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
	if len(reason) > 200 {
		return errorf(http.StatusBadRequest, "reason longer than 200 bytes")
	}
	if !s.deps.Transport.CloseConn(id, reason) {
		return errorf(http.StatusNotFound, "connection %d not found", id)
	}
	s.log.Info("connection closed by the web API", "conn", id, "remote", c.ClientIP())
	c.JSON(http.StatusOK, gin.H{"closed": id, "reason": reason})
	return nil
}
