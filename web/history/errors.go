package history

import "errors"

// Errors of the store, comparable with errors.Is.
var (
	// ErrCorrupt: the file is not a SQLite database, or a damaged one.
	ErrCorrupt = errors.New("history: store is corrupt")
	// ErrUnwritable: the file cannot be created, opened or written.
	ErrUnwritable = errors.New("history: store is not writable")
	// ErrNewerSchema: the file was written by a newer sipwire whose schema
	// this one does not know; it is left untouched.
	ErrNewerSchema = errors.New("history: store has a newer schema")
	// ErrForeign: the file is a SQLite database that is not a history
	// store; it is left untouched.
	ErrForeign = errors.New("history: file is not a sipwire history store")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("history: store is closed")
	// ErrDisabled: the store is off (see Disabled).
	ErrDisabled = errors.New("history: store is disabled")
	// ErrBadCursor: a paging cursor that Query did not hand out.
	ErrBadCursor = errors.New("history: bad cursor")
	// ErrBadFilter: a filter value that cannot match (an address that is
	// neither an IP nor IP:port, Until before Since).
	ErrBadFilter = errors.New("history: bad filter")
	// ErrBadFormat: an export format other than "jsonl" and "csv".
	ErrBadFormat = errors.New("history: bad export format")
)
