// Package history records every network event of the transport in an
// embedded SQLite store on local disk and answers queries over it: the
// operator's "what happened to the connections from 10.1.2.3 last night, and
// why did they close?", even after a restart.
//
// The store is one more consumer of the event fan-out. [Store.Consume] (or
// [Store.ConsumeSubscription]) reads a stream of [transport.Event] into the
// store's own bounded queue; a writer goroutine inserts the queue in batches,
// one transaction per batch, whenever BatchSize events are waiting or
// FlushInterval has passed. Nothing on that path ever blocks the producer: a
// full queue drops the event and counts it.
//
// Durability: [Store.Close] writes everything queued before it returns, so a
// graceful stop loses nothing that was raised. A crash (SIGKILL) loses at most
// the events of the last FlushInterval. The database runs in WAL mode with
// synchronous=NORMAL: a committed batch survives the death of the process; a
// power cut may lose the last batches too.
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
// # Running without history
//
// A store that cannot be opened (a corrupt file, an unwritable path) must not
// stop SIP traffic. The caller logs the error and goes on with a disabled
// store, whose queries fail with [ErrDisabled] and whose stats say why:
//
//	st, err := history.Open(ctx, cfg)
//	if err != nil {
//		logger.Error("event history disabled", "err", err)
//		st = history.Disabled(err)
//	} else {
//		st.ConsumeSubscription(tr.Subscribe("history", cfg.QueueSize, transport.AllEvents))
//	}
//	defer st.Close(shutdownCtx) // after tr.Shutdown, so the last events are in
package history
