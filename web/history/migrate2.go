package history

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// migrateTo2 is migration 2's step in Go: it gives the routine kinds their
// codes and indexes the others (events_kind), and moves the Call-IDs of
// conn_callids into callids.
func migrateTo2(ctx context.Context, tx *sql.Tx) error {
	codes, err := addKinds(ctx, tx, routineKinds())
	if err != nil {
		return err
	}
	slices.Sort(codes)
	list := make([]string, len(codes))
	for i, c := range codes {
		list[i] = strconv.FormatInt(c, 10)
	}
	idx := "CREATE INDEX events_kind ON events (kind, ts) WHERE kind NOT IN (" + strings.Join(list, ", ") + ")"
	if _, err := tx.ExecContext(ctx, idx); err != nil {
		return fmt.Errorf("index kinds: %w", err)
	}
	if err := copyCallIDs(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE conn_callids"); err != nil {
		return fmt.Errorf("drop conn_callids: %w", err)
	}
	return nil
}

// copyCallIDs copies conn_callids into callids, oldest first.
func copyCallIDs(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT call_id, run, conn_id, ts FROM conn_callids ORDER BY ts")
	if err != nil {
		return fmt.Errorf("read call-ids: %w", err)
	}
	type row struct {
		hash, run, conn, ts int64
	}
	var all []row
	for rows.Next() {
		var id string
		var r row
		if err := rows.Scan(&id, &r.run, &r.conn, &r.ts); err != nil {
			rows.Close()
			return fmt.Errorf("read call-ids: %w", err)
		}
		r.hash = callIDHash([]byte(id))
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read call-ids: %w", err)
	}
	st, err := tx.PrepareContext(ctx, "INSERT INTO callids (hash, run, conn_id, ts) VALUES (?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("copy call-ids: %w", err)
	}
	defer st.Close()
	for _, r := range all {
		if _, err := st.ExecContext(ctx, r.hash, r.run, r.conn, r.ts); err != nil {
			return fmt.Errorf("copy call-ids: %w", err)
		}
	}
	return nil
}
