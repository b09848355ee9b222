package web

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sipwire/sipwire/web/pcap"
)

// getPcap answers a pcap of the traced messages held: all, or those of
// conn= (a connection id) and since= (an RFC 3339 time, or a Go duration
// such as 5m meaning "the last five minutes").
func (s *Server) getPcap(c *gin.Context) error {
	if s.deps.Pcap == nil {
		return errorf(http.StatusNotFound, "pcap capture is not enabled")
	}
	var f pcap.Filter
	if v := c.Query("conn"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, "conn=%q is not a connection id", v)
		}
		f.ConnID = n
	}
	if v := c.Query("since"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			f.Since = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.Since = time.Now().Add(-d)
		} else {
			return errorf(http.StatusBadRequest, "since=%q is neither an RFC 3339 time nor a positive duration like 5m", v)
		}
	}
	var buf bytes.Buffer
	n, err := s.deps.Pcap.WritePcap(&buf, f)
	if err != nil {
		return errorf(http.StatusInternalServerError, "write pcap: %v", err)
	}
	name := "sipwire-" + time.Now().UTC().Format("20060102T150405Z") + ".pcap"
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("X-Sipwire-Messages", strconv.Itoa(n))
	c.Data(http.StatusOK, "application/vnd.tcpdump.pcap", buf.Bytes())
	return nil
}
