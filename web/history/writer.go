package history

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sipwire/sipwire/transport"
)

const (
	insertEventSQL = `INSERT INTO events
	(ts, run, conn_id, kind, status, direction, lip, lport, rip, rport, listener, reason, tcp_retrans, tcp) VALUES `
	eventParams     = 14
	insertCallIDSQL = `INSERT INTO callids (hash, run, conn_id, conn_id2, ts) VALUES `
	callIDParams    = 5
	addCountSQL     = `UPDATE counters SET value = value + ? WHERE name = 'events'`
)

// writer writes the queue every FlushInterval, when a batch is full, and on
// Flush; after stopWrite it writes what is left and returns.
func (s *Store) writer() {
	defer close(s.writerEnd)
	t := time.NewTicker(s.cfg.flushInterval())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flush()
		case <-s.wake:
			s.flush()
		case done := <-s.flushReq:
			done <- s.flush()
		case <-s.stopWrite:
			s.finalErr = s.flush()
			return
		}
	}
}

// spareBytes bounds the queue array the writer keeps for reuse: a larger
// one (a burst's) is let go once written, and counted (Stats.ArraysLetGo).
// A steady flow of more than spareBytes of events per flush grows a new
// array each flush (about twice its size allocated, a few MB a second at
// thousands of connection events a second); a burst's array kept instead stays
// resident for good once the burst is over: 4 batches of events were 5.8 MiB,
// 180 bytes for each of 10,000 idle connections that had just opened.
const spareBytes = 256 << 10

// keepSpare returns the array of a taken queue for reuse, from its start
// (the batches are cleared as they are written), or nil when it holds more
// than spareBytes, counting it in letGo.
func keepSpare[T any](taken []T, letGo *atomic.Uint64) []T {
	var t T
	if cap(taken)*int(unsafe.Sizeof(t)) > spareBytes {
		letGo.Add(1)
		return nil
	}
	return taken[:0]
}

// flush writes everything queued, BatchSize events per transaction, and
// returns the first error. Events of a failed batch are lost and counted;
// the first failed batch of an outage and the first written one after it
// are logged (see health).
func (s *Store) flush() error {
	evs, cids := s.q.take(s.spare[:0], s.spareC[:0])
	if len(evs) == 0 && len(cids) == 0 {
		s.spare, s.spareC = evs, cids
		return nil
	}
	ctx := context.Background()
	var first error
	bs := s.cfg.batchSize()
	s.spare, s.spareC = keepSpare(evs, &s.arraysLetGo), keepSpare(cids, &s.arraysLetGo)
	for len(evs) > 0 || len(cids) > 0 {
		ne, nc := min(len(evs), bs), min(len(cids), bs)
		if err := s.writeBatch(ctx, evs[:ne], cids[:nc]); err != nil {
			s.failed.Add(uint64(ne))
			s.callIDsDropped.Add(uint64(nc))
			s.setError(err)
			s.writeFailed(err, ne)
			if first == nil {
				first = err
			}
		} else {
			s.writeOK()
		}
		clear(evs[:ne])
		clear(cids[:nc])
		evs, cids = evs[ne:], cids[nc:]
	}
	s.walGrew()
	if err := s.refreshSize(ctx); err != nil && first == nil {
		s.setError(err)
		first = err
	}
	return first
}

// writeBatch inserts evs and cids in one transaction.
func (s *Store) writeBatch(ctx context.Context, evs []transport.Event, cids []callIDObs) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: write batch: %w", classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var oldest int64
	if len(evs) > 0 {
		for i := range evs {
			if err := s.locals.note(ctx, tx, evs[i].Local); err != nil {
				return fmt.Errorf("history: %w", classify(err))
			}
		}
		err := s.insEvents.insert(ctx, tx, len(evs), func(args []any, i int) []any {
			ts := evs[i].Time.UnixMicro()
			if oldest == 0 || ts < oldest {
				oldest = ts
			}
			return s.appendEventArgs(args, &evs[i], ts)
		})
		if err != nil {
			return fmt.Errorf("history: insert events: %w", classify(err))
		}
		if _, err := tx.ExecContext(ctx, addCountSQL, len(evs)); err != nil {
			return fmt.Errorf("history: count events: %w", classify(err))
		}
	}
	if len(cids) > 0 {
		rows := s.pairs.group(cids)
		err := s.insCallIDs.insert(ctx, tx, len(rows), func(args []any, i int) []any {
			r := &rows[i]
			return append(args, r.hash, s.run, int64(r.conn), r.conn2Value(), r.ts)
		})
		if err != nil {
			return fmt.Errorf("history: insert call-ids: %w", classify(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history: commit batch: %w", classify(err))
	}
	if len(evs) > 0 {
		s.noteOldest(oldest)
	}
	s.written.Add(uint64(len(evs)))
	s.stored.Add(int64(len(evs)))
	s.callIDsWritten.Add(uint64(len(cids)))
	s.batches.Add(1)
	return nil
}

// appendEventArgs appends the eventParams column values of e.
func (s *Store) appendEventArgs(args []any, e *transport.Event, ts int64) []any {
	var listener any
	if e.Listener.IsValid() {
		listener = e.Listener.String()
	}
	retrans, tcp := tcpArgs(e, ts)
	return append(args, ts, s.run, int64(e.ConnID), s.kinds.codeOf(e.Kind),
		statusValue(e.Status), directionValue(e.Direction), ipBlob(e.Local), portValue(e.Local),
		ipBlob(e.Remote), portValue(e.Remote), listener, e.Reason, retrans, tcp)
}

// statusValue and directionValue are the stored forms (0/1), independent of
// the enums' numbering.
func statusValue(st transport.Status) int64 {
	if st == transport.StatusFailure {
		return 1
	}
	return 0
}

func directionValue(d transport.Direction) int64 {
	if d == transport.Outbound {
		return 1
	}
	return 0
}

func statusName(v int64) string {
	if v == 1 {
		return transport.StatusFailure.String()
	}
	return transport.StatusSuccess.String()
}

func directionName(v int64) string {
	if v == 1 {
		return transport.Outbound.String()
	}
	return transport.Inbound.String()
}
