package history

import (
	"database/sql"
	"strconv"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// sqlNullInt is the scan type of nullable integer columns.
type sqlNullInt = sql.NullInt64

// Record is one stored event, in the form the API and the exports show it.
type Record struct {
	// ID is the event's id in the store, increasing in insertion order.
	ID int64 `json:"id"`
	// Run numbers the starts of sipwire on this store: connection ids are
	// unique within one run only.
	Run int64 `json:"run"`
	// Time is when the event happened, to the microsecond, in UTC.
	Time time.Time `json:"time"`
	// Kind is the event kind's name (transport.EventKind.String).
	Kind string `json:"kind"`
	// Status is "SUCCESS" or "FAILURE".
	Status string `json:"status"`
	// ConnID is the connection's id within Run.
	ConnID uint64 `json:"conn_id"`
	// Direction is "in" or "out".
	Direction string `json:"direction"`
	// Local, Remote and Listener are "ip:port", empty when unknown.
	Local    string `json:"local,omitempty"`
	Remote   string `json:"remote,omitempty"`
	Listener string `json:"listener,omitempty"`
	// Reason says what happened, in OpenSIPS' wording where it has one.
	Reason string `json:"reason"`
	// TCP is the kernel's figures of the connection on a CLOSED and the
	// error event before it (transport.Event.TCP), nil on other events.
	TCP *transport.TCPInfo `json:"tcp,omitempty"`
}

// csvHeader names the columns of a CSV export, in csvRow's order.
var csvHeader = []string{"id", "run", "time", "kind", "status", "conn_id", "direction", "local", "remote", "listener", "reason"}

// csvRow returns r's fields as CSV cells; the time is RFC 3339 with
// microseconds.
func (r *Record) csvRow(row []string) []string {
	return append(row[:0],
		strconv.FormatInt(r.ID, 10),
		strconv.FormatInt(r.Run, 10),
		r.Time.Format(timeLayout),
		r.Kind,
		r.Status,
		strconv.FormatUint(r.ConnID, 10),
		r.Direction,
		r.Local,
		r.Remote,
		r.Listener,
		r.Reason,
	)
}

// timeLayout is RFC 3339 with exactly six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"
