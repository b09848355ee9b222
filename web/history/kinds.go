package history

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sipwire/sipwire/transport"
)

// kindCodes maps transport.EventKind to the store's own kind codes (the kinds
// table) and back, by name: the store never depends on the enum's numbering.
type kindCodes struct {
	code  map[transport.EventKind]int64
	names map[int64]string
	// indexed is the condition of the partial index events_kind, exactly
	// as the schema has it: a query by a kind that is not routine adds it
	// so that SQLite uses the index.
	indexed string
	routine map[int64]bool
}

// routineKinds are the kinds of (nearly) every connection: most of the
// events. events_kind leaves them out, so their inserts skip that index; a
// query by one of them reads the events in time order.
func routineKinds() []transport.EventKind {
	return []transport.EventKind{transport.EventAccepted, transport.EventConnectStart, transport.EventConnected, transport.EventClosed}
}

// dbtx is what *sql.DB and *sql.Tx share.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readKinds returns the kinds table by name, and its highest code.
func readKinds(ctx context.Context, db dbtx) (map[string]int64, int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT code, name FROM kinds")
	if err != nil {
		return nil, 0, fmt.Errorf("read kinds: %w", err)
	}
	defer rows.Close()
	byName := make(map[string]int64)
	var maxCode int64
	for rows.Next() {
		var code int64
		var name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, 0, fmt.Errorf("read kinds: %w", err)
		}
		byName[name] = code
		maxCode = max(maxCode, code)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read kinds: %w", err)
	}
	return byName, maxCode, nil
}

// addKinds adds the kinds the table lacks and returns the codes of kinds.
func addKinds(ctx context.Context, db dbtx, kinds []transport.EventKind) ([]int64, error) {
	byName, maxCode, err := readKinds(ctx, db)
	if err != nil {
		return nil, err
	}
	codes := make([]int64, len(kinds))
	for i, kind := range kinds {
		name := kind.String()
		code, ok := byName[name]
		if !ok {
			maxCode++
			code = maxCode
			if _, err := db.ExecContext(ctx, "INSERT INTO kinds (code, name) VALUES (?, ?)", code, name); err != nil {
				return nil, fmt.Errorf("add kind %s: %w", name, err)
			}
			byName[name] = code
		}
		codes[i] = code
	}
	return codes, nil
}

// load reads the kinds table, adds the kinds it lacks, and reads the
// condition of events_kind.
func (k *kindCodes) load(ctx context.Context, db *sql.DB) error {
	all := transport.EventKinds()
	codes, err := addKinds(ctx, db, all)
	if err != nil {
		return err
	}
	k.code = make(map[transport.EventKind]int64, len(all))
	k.names = make(map[int64]string, len(all))
	for i, kind := range all {
		k.code[kind] = codes[i]
		k.names[codes[i]] = kind.String()
	}
	k.routine = make(map[int64]bool)
	for _, kind := range routineKinds() {
		k.routine[k.code[kind]] = true
	}
	var ddl string
	if err := db.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'events_kind'").Scan(&ddl); err != nil {
		return fmt.Errorf("read index events_kind: %w", err)
	}
	i := strings.LastIndex(ddl, " WHERE ")
	if i < 0 {
		return fmt.Errorf("read index events_kind: not a partial index: %s", ddl)
	}
	k.indexed = ddl[i+len(" WHERE "):]
	return nil
}

// anyRoutine reports whether one of codes is a routine kind's.
func (k *kindCodes) anyRoutine(codes []int64) bool {
	for _, c := range codes {
		if k.routine[c] {
			return true
		}
	}
	return false
}

// codeOf returns kind's code, or 0 (no stored kind has it) for a kind the
// transport does not list.
func (k *kindCodes) codeOf(kind transport.EventKind) int64 { return k.code[kind] }

// name returns the name of a stored code.
func (k *kindCodes) name(code int64) string {
	if n, ok := k.names[code]; ok {
		return n
	}
	return transport.EventKind(0).String()
}
