package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Export formats of GET /events/export.
const (
	ExportJSONL = "jsonl"
	ExportCSV   = "csv"
)

// exportEvents is GET /events/export: every event of the history that the
// filters of GET /events select (limit= bounds them, default all), newest
// first, streamed as JSON lines or CSV in an attachment.
func (s *Server) exportEvents(c *gin.Context) error {
	q, err := parseEventFilter(c)
	if err != nil {
		return err
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "limit must be a non-negative integer (0: every event)")
		}
		q.Limit = n
	}
	if src := c.Query("source"); src != "" && src != "history" {
		return errorf(http.StatusBadRequest, "the export reads the event history: source must be history or absent")
	}
	if err := s.historyQuery(&q); err != nil {
		return err
	}
	format := c.DefaultQuery("format", ExportJSONL)
	ctype := s.deps.Events.ContentType(format)
	if ctype == "" || (format != ExportJSONL && format != ExportCSV) {
		return errorf(http.StatusBadRequest, "format=%q: want %s or %s", format, ExportJSONL, ExportCSV)
	}
	name := "sipwire-events-" + time.Now().UTC().Format("20060102T150405Z") + "." + format
	w := &exportWriter{c: c, timeout: s.cfg.writeTimeout(), commit: func(h http.Header) {
		h.Set("Content-Type", ctype)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	err = s.deps.Events.Export(c.Request.Context(), q, format, w)
	switch {
	case err == nil:
		w.start()
		return nil
	case !w.started:
		return storeError(err)
	}
	// Part of the export is out: cut the response short so that the client
	// sees a broken transfer rather than a complete-looking file.
	s.log.Warn("event export cut short", "err", err)
	panic(http.ErrAbortHandler)
}

// exportWriter sends an export's status and headers with its first write,
// so that an error before any byte is answered in the error shape, and
// gives each write its own deadline, so that a long export is not cut by
// the server's write timeout while a stalled client still is.
type exportWriter struct {
	c       *gin.Context
	timeout time.Duration
	commit  func(http.Header)
	started bool
}

// start sends the status and the headers once.
func (w *exportWriter) start() {
	if w.started {
		return
	}
	w.started = true
	w.commit(w.c.Writer.Header())
	w.c.Status(http.StatusOK)
	w.c.Writer.WriteHeaderNow()
}

func (w *exportWriter) Write(p []byte) (int, error) {
	w.start()
	rc := http.NewResponseController(w.c.Writer)
	// A writer without deadlines (a test recorder) only keeps the server's
	// write timeout; that is no reason to fail the export.
	_ = rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.c.Writer.Write(p)
}
