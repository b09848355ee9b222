package history

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sipwire/sipwire/transport"
)

// kindCodes maps transport.EventKind to the store's own kind codes (the kinds
// table) and back, by name: the store never depends on the enum's numbering.
type kindCodes struct {
	code  map[transport.EventKind]int64
	names map[int64]string
}

// load reads the kinds table and adds the kinds it lacks.
func (k *kindCodes) load(ctx context.Context, db *sql.DB) error {
	k.code = make(map[transport.EventKind]int64)
	k.names = make(map[int64]string)
	rows, err := db.QueryContext(ctx, "SELECT code, name FROM kinds")
	if err != nil {
		return fmt.Errorf("read kinds: %w", err)
	}
	defer rows.Close()
	byName := make(map[string]int64)
	var maxCode int64
	for rows.Next() {
		var code int64
		var name string
		if err := rows.Scan(&code, &name); err != nil {
			return fmt.Errorf("read kinds: %w", err)
		}
		byName[name] = code
		k.names[code] = name
		maxCode = max(maxCode, code)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read kinds: %w", err)
	}
	for _, kind := range transport.EventKinds() {
		name := kind.String()
		code, ok := byName[name]
		if !ok {
			maxCode++
			code = maxCode
			if _, err := db.ExecContext(ctx, "INSERT INTO kinds (code, name) VALUES (?, ?)", code, name); err != nil {
				return fmt.Errorf("add kind %s: %w", name, err)
			}
			k.names[code] = name
		}
		k.code[kind] = code
	}
	return nil
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
