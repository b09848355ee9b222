// Package history records every network event of the transport in an
// embedded SQLite store on local disk and answers queries over it: the
// operator's "what happened to the connections from 10.1.2.3 last night, and
// why did they close?", even after a restart.
//
// The store is one more consumer of the event fan-out. [Store.Consume] (or
// [Store.ConsumeSubscription]) reads a stream of [transport.Event] into the
// store's own bounded queue, taking what the channel holds every 50 ms under
// load (a wake per event cost more than storing it; the channel must hold
// 50 ms of events, or the consumer stops pausing); a writer goroutine
// inserts the queue in batches, one transaction per batch, whenever
// BatchSize events are waiting or FlushInterval has passed, with multi-row
// INSERT statements prepared once. Nothing on that path ever blocks the
// producer: a full queue drops the event and counts it. [Store.Observer]
// is the other way in, the one sipwire uses: a transport.Observer that puts
// each event into the same queue on the goroutine that raised it, with no
// channel to keep resident after a burst.
// [Store.ObserveCallID] records which connections carried a Call-ID, as a
// 64-bit hash, two connections a row.
//
// Durability: [Store.Close] writes everything queued before it returns, so a
// graceful stop loses nothing that was raised. A crash (SIGKILL) loses at most
// the events of the last FlushInterval (and the last 50 ms in the consumed
// channel). The database runs in WAL mode with synchronous=NORMAL: a
// committed batch survives the death of the process, but a power cut or a
// kernel crash may lose the batches committed since the last checkpoint (one
// every 10 batches, about 10 s) — the price of commits that never wait for
// the disk, fair for diagnostic data. The schema is migrated in place when
// an older sipwire wrote the file (schema 1 to 2 rewrites the Call-ID table
// and two indexes, once, at Open; 2 to 3 adds two columns for the kernel's
// figures of a connection at close, transport.Event.TCP: see tcpinfo.go).
//
// Retention: events older than Retention, and the oldest events while the
// store holds more than MaxSize bytes, are deleted in the background in small
// transactions that never hold the write lock for long.
//
// Queries: [Store.Query] returns one page of events, newest first, filtered by
// time range, kind, status, connection, address (either side, IP or IP:port),
// Call-ID and reason text, with an opaque cursor for the next page.
// [Store.Export] streams a whole result as JSON lines or CSV.
//
// # Failures
//
// Open checks an existing file with PRAGMA quick_check, bounded by
// IntegrityTimeout (5 s; a 10-million-event store of 1.5 GiB takes 2.6 s
// when the OS has it cached, 18 s read cold from this project's disks, see
// BenchmarkOpen10M): a check still running then is stopped and the file used
// unchecked, with a warning. A damaged store is moved aside to
// Path+".corrupt" (one kept: the disk holds at most two stores) and a new
// one is started, so that the appliance keeps recording; the move is logged
// (ERROR, with both paths and the error) and Stats.CorruptFile names it.
//
// While running, the writer is "up" or "down" (Stats.State): down from the
// first batch that cannot be written (a full disk, damage the check did not
// see) until the next one that is. The start of an outage is logged once at
// ERROR with the error, its end once at INFO with the events lost
// meanwhile, however many batches failed in between; every lost event is
// counted (Stats.Failed).
//
// Memory: SQLite's page caches live outside the Go heap and, once filled,
// stay filled: CacheSize (8 MiB) for the writer, ReaderCacheSize (2 MiB) for
// each of the four query connections and the checkpointer's, 18 MiB in all,
// which costs about 2.5 times as much resident memory (page headers and the
// allocator's rounding: BenchmarkCacheMemory).
//
// # Running without history
//
// A store that cannot be opened (an unwritable path, a file that is not a
// SQLite database, a newer schema) must not stop SIP traffic. The caller
// logs the error and goes on with a disabled store, whose queries fail with
// an error that matches [ErrDisabled] and reads "could not open: ...", and
// whose stats say the same with the state "down":
//
//	st, err := history.Open(ctx, cfg)
//	if err != nil {
//		logger.Error("event history disabled", "err", err)
//		st = history.Disabled(err)
//	} else {
//		tr.AddObserver(st.Observer(), transport.AllEvents) // events and Call-IDs (NewCall)
//	}
//	defer st.Close(shutdownCtx) // after tr.Shutdown, so the last events are in
package history
