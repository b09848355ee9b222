package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// insertBuckets is the number of statement sizes: 1, 2, 4 ...
// maxInsertRows rows.
const insertBuckets = 8

// maxInsertRows is the number of rows the largest INSERT statement carries:
// one statement per row costs more in database/sql and the driver than
// SQLite spends inserting the row. A batch of n rows takes one statement of
// each power of two in n's binary form, and at most n/maxInsertRows of the
// largest.
const maxInsertRows = 1 << (insertBuckets - 1)

// multiInsert is the INSERT statements of one table for 1, 2, 4 ...
// maxInsertRows rows, each prepared once on the writer's pool and reused by
// every batch.
type multiInsert struct {
	stmts  []*sql.Stmt // stmts[k] inserts 1<<k rows
	params int         // per row
	args   []any       // reused by every exec
}

// prepareInsert prepares head (INSERT INTO t (cols) VALUES) with params
// placeholders per row, for every statement size.
func prepareInsert(ctx context.Context, db *sql.DB, head string, params int) (*multiInsert, error) {
	m := &multiInsert{params: params, args: make([]any, 0, maxInsertRows*params)}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", params), ", ") + ")"
	for k := range insertBuckets {
		q := head + strings.TrimSuffix(strings.Repeat(row+", ", 1<<k), ", ")
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare insert: %w", err), m.close())
		}
		m.stmts = append(m.stmts, st)
	}
	return m, nil
}

// insert inserts n rows in tx; row appends the params values of row i to
// args.
func (m *multiInsert) insert(ctx context.Context, tx *sql.Tx, n int, row func(args []any, i int) []any) error {
	for i := 0; i < n; {
		k := min(bits.Len(uint(n-i))-1, insertBuckets-1)
		rows := 1 << k
		m.args = m.args[:0]
		for j := i; j < i+rows; j++ {
			m.args = row(m.args, j)
		}
		if _, err := tx.StmtContext(ctx, m.stmts[k]).ExecContext(ctx, m.args...); err != nil {
			clear(m.args)
			return err
		}
		i += rows
	}
	clear(m.args)
	return nil
}

// close closes the statements.
func (m *multiInsert) close() error {
	if m == nil {
		return nil
	}
	var errs []error
	for _, st := range m.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
