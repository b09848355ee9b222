package history

// callIDRow is one row of callids: a Call-ID seen on one connection or two
// (conn2 0: one).
type callIDRow struct {
	hash  int64
	conn  uint64
	conn2 uint64
	ts    int64
}

// callIDPairs groups the Call-ID observations of a batch into rows, two
// connections a row: a proxy sees each call on two connections (the
// caller's and the next hop's), within the same second. It is the writer's
// and reused by every batch.
type callIDPairs struct {
	rows []callIDRow
	open map[int64]int // rows with one connection, by hash
}

// group returns the rows of obs, in the order of their first observation.
// The rows are valid until the next call.
func (p *callIDPairs) group(obs []callIDObs) []callIDRow {
	if p.open == nil {
		p.open = make(map[int64]int)
	}
	clear(p.open)
	p.rows = p.rows[:0]
	for i := range obs {
		o := &obs[i]
		if j, ok := p.open[o.hash]; ok && p.rows[j].conn != o.connID {
			p.rows[j].conn2 = o.connID
			delete(p.open, o.hash)
			continue
		}
		p.open[o.hash] = len(p.rows)
		p.rows = append(p.rows, callIDRow{hash: o.hash, conn: o.connID, ts: o.ts})
	}
	return p.rows
}

// conn2Value is the stored form of a row's second connection: NULL when
// there is none.
func (r *callIDRow) conn2Value() any {
	if r.conn2 == 0 {
		return nil
	}
	return int64(r.conn2)
}
