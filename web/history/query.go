package history

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sipwire/sipwire/transport"
)

// Page sizes of Query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects events; its zero value selects all. Conditions combine with
// AND.
type Filter struct {
	// Since and Until bound the event time: Since <= time < Until. A zero
	// value leaves that side open.
	Since, Until time.Time
	// Kinds keeps events of these kinds (any of them); empty keeps all.
	Kinds []transport.EventKind
	// Status keeps events of this status; nil keeps both.
	Status *transport.Status
	// ConnID keeps the events of one connection. Connection ids are unique
	// within a run only: Run says which run's connection (0: the current
	// run).
	ConnID uint64
	// Run keeps the events of one run (see Record.Run); 0 keeps all runs,
	// except that with ConnID it means the current run.
	Run int64
	// Addr keeps events whose local or remote address matches: an IP
	// ("10.1.2.3", "::1") matches any port, an IP:port ("10.1.2.3:5060",
	// "[::1]:5060") that port only.
	Addr string
	// CallID keeps the events of the connections that carried a message
	// with this Call-ID, in any run. Call-IDs are stored as a 64-bit hash:
	// a Call-ID made to collide with another one finds its connections too.
	CallID string
	// Text keeps events whose reason contains it, ignoring ASCII case.
	Text string
	// MinRetrans keeps events that carry the kernel's figures of their
	// connection (CLOSED, and the error event before it) with at least
	// this many segments retransmitted over its life
	// (transport.TCPInfo.TotalRetrans); zero keeps all.
	MinRetrans uint32
	// Limit bounds the events of a page: zero means DefaultLimit, more than
	// MaxLimit means MaxLimit. For Export it bounds the whole result (zero:
	// no bound).
	Limit int
	// Cursor continues after the page that returned it as Page.Next.
	Cursor string
}

// Page is one page of a query's result, newest first (by event time, then
// by id).
type Page struct {
	Events []Record `json:"events"`
	// Next is the cursor of the next page; empty when this one is the last.
	Next string `json:"next,omitempty"`
}

// Query returns one page of the events that f selects, newest first.
func (s *Store) Query(ctx context.Context, f Filter) (Page, error) {
	if s.closed.Load() {
		return Page{}, s.closedErr()
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q, err := s.buildQuery(&f, limit+1)
	if err != nil {
		return Page{}, err
	}
	recs, err := s.fetch(ctx, q, make([]Record, 0, limit+1))
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: recs}
	if len(recs) > limit {
		p.Events = recs[:limit]
		last := &p.Events[limit-1]
		p.Next = position{ts: last.Time.UnixMicro(), id: last.ID}.encode()
	}
	return p, nil
}

const selectColumns = `id, ts, run, conn_id, kind, status, direction, lip, lport, rip, rport, listener, reason, tcp`

// builtQuery is a SQL statement and its arguments.
type builtQuery struct {
	sql  string
	args []any
}

// buildQuery turns f into one statement returning at most limit rows in
// newest-first order, driven by the most selective index the filter allows:
// a connection (or a Call-ID's connections), else an address (a remote-side
// lookup, united with the local side read in time order when the IP is a
// local one), else each kind (a union, one lookup per kind) when no kind is
// routine, else time. Every index ends with ts, so the time range and the
// cursor narrow the lookup and its order is the result's order; a union's
// branches carry every condition and the limit each, so no branch is read
// further than the page needs. The conditions that must not drive (a "+"
// before the column keeps SQLite from using an index for it) are checked on
// the rows the driving index returns.
func (s *Store) buildQuery(f *Filter, limit int) (builtQuery, error) {
	var w where
	if !f.Since.IsZero() {
		w.add("ts >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		w.add("ts < ?", f.Until.UnixMicro())
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return builtQuery{}, fmt.Errorf("%w: until %s is before since %s", ErrBadFilter, f.Until, f.Since)
	}
	if f.Cursor != "" {
		p, err := decodeCursor(f.Cursor)
		if err != nil {
			return builtQuery{}, err
		}
		w.add("ts <= ? AND (ts < ? OR id < ?)", p.ts, p.ts, p.id)
	}
	if f.Status != nil {
		w.add("status = ?", statusValue(*f.Status))
	}
	if f.Text != "" {
		w.add(`reason LIKE ? ESCAPE '\'`, "%"+escapeLike(f.Text)+"%")
	}
	if f.MinRetrans > 0 {
		w.add("tcp_retrans >= ?", int64(f.MinRetrans))
	}
	run := f.Run
	if f.ConnID != 0 && run == 0 {
		run = s.run
	}
	var addr addrFilter
	if f.Addr != "" {
		var err error
		if addr, err = parseAddrFilter(f.Addr); err != nil {
			return builtQuery{}, err
		}
	}
	kinds := s.kindCodeList(f.Kinds)
	var branches []where
	switch {
	case f.ConnID != 0 || f.CallID != "":
		if f.ConnID != 0 {
			w.add("run = ? AND conn_id = ?", run, int64(f.ConnID))
		} else if run != 0 {
			w.add("+run = ?", run)
		}
		if f.CallID != "" {
			h := callIDHash([]byte(f.CallID))
			w.add("(run, conn_id) IN (SELECT run, conn_id FROM callids WHERE hash = ?) OR (run, conn_id) IN (SELECT run, conn_id2 FROM callids WHERE hash = ?)", h, h)
		}
		w.addIn("+kind", kinds)
		if f.Addr != "" {
			w.add("("+addrCond(addr, "+lip", "+lport")+" OR "+addrCond(addr, "+rip", "+rport")+")", addrArgs(addr, 2)...)
		}
	case f.Addr != "":
		if run != 0 {
			w.add("+run = ?", run)
		}
		w.addIn("+kind", kinds)
		b := w.clone()
		b.add(addrCond(addr, "rip", "rport"), addrArgs(addr, 1)...)
		branches = append(branches, b)
		if s.locals.has(addr.ip) {
			b := w.clone()
			b.add(addrCond(addr, "+lip", "+lport"), addrArgs(addr, 1)...)
			branches = append(branches, b)
		}
	case len(kinds) > 0 && !s.kinds.anyRoutine(kinds):
		if run != 0 {
			w.add("+run = ?", run)
		}
		for _, k := range kinds {
			b := w.clone()
			b.add("kind = ?", k)
			b.add(s.kinds.indexed)
			branches = append(branches, b)
		}
	default:
		if run != 0 {
			w.add("+run = ?", run)
		}
		w.addIn("+kind", kinds)
	}
	const order = " ORDER BY ts DESC, id DESC LIMIT ?"
	if len(branches) == 0 {
		branches = []where{w}
	}
	if len(branches) == 1 {
		b := branches[0]
		return builtQuery{
			sql:  "SELECT " + selectColumns + " FROM events" + b.clause() + order,
			args: append(b.args, limit),
		}, nil
	}
	var q builtQuery
	for i, b := range branches {
		if i > 0 {
			q.sql += " UNION "
		}
		q.sql += "SELECT * FROM (SELECT " + selectColumns + " FROM events" + b.clause() + order + ")"
		q.args = append(append(q.args, b.args...), limit)
	}
	q.sql += order
	q.args = append(q.args, limit)
	return q, nil
}

// addrCond is the condition of an address filter on one side.
func addrCond(a addrFilter, ip, port string) string {
	if a.hasPort {
		return "(" + ip + " = ? AND " + port + " = ?)"
	}
	return ip + " = ?"
}

// addrArgs are addrCond's arguments, for n sides.
func addrArgs(a addrFilter, n int) []any {
	var args []any
	for range n {
		args = append(args, a.ip)
		if a.hasPort {
			args = append(args, a.port)
		}
	}
	return args
}

// kindCodeList returns the distinct codes of kinds.
func (s *Store) kindCodeList(kinds []transport.EventKind) []int64 {
	var out []int64
	for _, k := range kinds {
		c := s.kinds.codeOf(k)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// where collects the conditions of a WHERE clause.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// addIn adds "col IN (values)" when there are values.
func (w *where) addIn(col string, values []int64) {
	if len(values) == 0 {
		return
	}
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = "?"
		w.args = append(w.args, v)
	}
	w.conds = append(w.conds, col+" IN ("+strings.Join(ph, ", ")+")")
}

func (w *where) clone() where {
	return where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
}

func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE (" + strings.Join(w.conds, ") AND (") + ")"
}

// escapeLike escapes LIKE's wildcards with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// fetch runs q and appends its rows to recs.
func (s *Store) fetch(ctx context.Context, q builtQuery, recs []Record) ([]Record, error) {
	rows, err := s.rdb.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("history: query: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                     Record
			ts, kind, status, dir int64
			connID                int64
			lip, rip              []byte
			lport, rport          sql.NullInt64
			listener              sql.NullString
			tcp                   []byte
		)
		if err := rows.Scan(&r.ID, &ts, &r.Run, &connID, &kind, &status, &dir,
			&lip, &lport, &rip, &rport, &listener, &r.Reason, &tcp); err != nil {
			return nil, fmt.Errorf("history: query: %w", classify(err))
		}
		r.Time = time.UnixMicro(ts).UTC()
		r.ConnID = uint64(connID)
		r.Kind = s.kinds.name(kind)
		r.Status = statusName(status)
		r.Direction = directionName(dir)
		r.Local = addrString(lip, lport)
		r.Remote = addrString(rip, rport)
		r.Listener = listener.String
		if tcp != nil {
			// A column this code cannot read leaves the figures out
			// rather than fail the page.
			r.TCP, _ = parseTCPBlob(tcp, ts)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: query: %w", classify(err))
	}
	return recs, nil
}
