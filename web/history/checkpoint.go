package history

import "fmt"

// ckptEvery is the number of writes (batches written, retention passes)
// between two checkpoints. A checkpoint copies each page changed since the
// last one once, however many commits changed it (the last pages of the
// tables and indexes change in every batch), and syncs twice: checkpointing
// after every batch cost as much as the commits. The WAL holds the writes
// in between (a few MiB at the load benchmark's rates); the writer's own
// checkpoint at walPages bounds it.
const ckptEvery = 10

// walGrew tells the checkpointer that the WAL has grown.
func (s *Store) walGrew() {
	select {
	case s.ckpt <- struct{}{}:
	default:
	}
}

// checkpointer copies the WAL into the database every ckptEvery writes, on
// its own connection: a PASSIVE checkpoint waits for no one, and the
// writer's commits never pay for it. It ends after the writer; closing the
// last connection checkpoints what is left.
func (s *Store) checkpointer() {
	defer close(s.ckptEnd)
	writes := 0
	for {
		select {
		case <-s.ckpt:
			if writes++; writes < ckptEvery {
				continue
			}
			writes = 0
			if _, err := s.cdb.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				s.setError(fmt.Errorf("history: checkpoint: %w", classify(err)))
			}
		case <-s.writerEnd:
			return
		}
	}
}
