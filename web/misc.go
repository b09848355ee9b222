package web

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document of the API (a copy).
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

func (s *Server) getOpenAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
	return nil
}

func (s *Server) getHealth(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

func (s *Server) getConfig(c *gin.Context) error {
	if s.deps.Config == nil {
		return errorf(http.StatusNotFound, "no configuration to show")
	}
	c.JSON(http.StatusOK, s.deps.Config())
	return nil
}
