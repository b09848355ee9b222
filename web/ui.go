package web

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/ui"
)

// uiRoutes serves the dashboard: / is index.html, /ui/* its assets.
func (s *Server) uiRoutes(e *gin.Engine) {
	files := ui.FS()
	serve := func(c *gin.Context, name string) error {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return errorf(http.StatusNotFound, "no file %s", name)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, ct, b)
		return nil
	}
	e.GET("/", handle(func(c *gin.Context) error { return serve(c, "index.html") }))
	e.GET("/ui/*file", handle(func(c *gin.Context) error {
		name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
		if name == "" || name == "." || !fs.ValidPath(name) {
			return errorf(http.StatusNotFound, "no file %s", c.Param("file"))
		}
		return serve(c, name)
	}))
}
