package web

import (
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
)

// routes builds the gin engine. Every route is listed here.
func (s *Server) routes() *gin.Engine {
	if gin.Mode() == gin.DebugMode && os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.ContextWithFallback = true
	e.Use(s.recover, securityHeaders, s.guard.checkRequest, s.limitBody)
	e.NoRoute(func(c *gin.Context) {
		writeError(c, errorf(http.StatusNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		writeError(c, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s (allowed: %s)",
			c.Request.Method, c.Request.URL.Path, c.Writer.Header().Get("Allow")))
	})

	// Open: health, metrics, the trace switch's state, the API document
	// and the dashboard's files. Every other route needs the token when one
	// is set: it changes state, or reveals traffic or configuration.
	auth := s.guard.requireToken
	e.GET("/healthz", handle(s.getHealth))
	e.GET("/metrics", handle(s.getMetrics))
	e.POST("/mi", auth, handle(s.postMI))

	api := e.Group("/api/v1")
	api.GET("/trace", handle(s.getTrace))
	api.PUT("/trace", auth, handle(s.putTrace))
	api.POST("/mi", auth, handle(s.postMI))
	api.GET("/connections", auth, handle(s.getConnections))
	api.GET("/connections/:id", auth, handle(s.getConnection))
	api.DELETE("/connections/:id", auth, handle(s.deleteConnection))
	api.GET("/events", auth, handle(s.getEvents))
	api.GET("/events/stream", s.guard.requireTokenOrTicket, handle(s.streamEvents))
	api.POST("/events/ticket", auth, handle(s.postStreamTicket))
	api.GET("/events/export", auth, handle(s.exportEvents))
	api.GET("/stats", auth, handle(s.getStats))
	api.GET("/config", auth, handle(s.getConfig))
	api.GET("/pcap", auth, handle(s.getPcap))
	api.GET("/timeline", auth, handle(s.getTimeline))
	api.GET("/calls", auth, handle(s.getCalls))
	api.GET("/calls/*rest", auth, handle(s.getCall))
	api.GET("/openapi.json", handle(s.getOpenAPI))

	s.uiRoutes(e)
	return e
}

// recover answers a panicking handler with a 500 in the error shape.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("web handler panic", "path", c.Request.URL.Path, "panic", v)
			if !c.Writer.Written() {
				writeError(c, errorf(http.StatusInternalServerError, "internal error"))
			}
		}
	}()
	c.Next()
}

// securityHeaders keeps the dashboard to its own origin and frames.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	c.Next()
}

// limitBody bounds every request body.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.maxBodyBytes())
	}
	c.Next()
}
