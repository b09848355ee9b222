package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web"
	"github.com/sipwire/sipwire/web/history"
)

// historyEvents serves the web API's event queries and exports from the
// history store.
type historyEvents struct{ store *history.Store }

var _ web.EventStore = historyEvents{}

// Query returns one page of the events q selects.
func (h historyEvents) Query(ctx context.Context, q web.EventQuery) ([]web.Event, string, error) {
	f, err := historyFilter(q)
	if err != nil {
		return nil, "", err
	}
	page, err := h.store.Query(ctx, f)
	if err != nil {
		return nil, "", queryError(err)
	}
	out := make([]web.Event, len(page.Events))
	for i := range page.Events {
		out[i] = webEvent(&page.Events[i])
	}
	return out, page.Next, nil
}

// Export streams every event q selects to w in format.
func (h historyEvents) Export(ctx context.Context, q web.EventQuery, format string, w io.Writer) error {
	f, err := historyFilter(q)
	if err != nil {
		return err
	}
	return queryError(h.store.Export(ctx, f, format, w))
}

// ContentType is the content type of an export format.
func (historyEvents) ContentType(format string) string { return history.ContentType(format) }

// historyFilter turns the web API's query into the store's filter.
func historyFilter(q web.EventQuery) (history.Filter, error) {
	f := history.Filter{
		Since:  q.Since,
		Until:  q.Until,
		ConnID: q.ConnID,
		Run:    q.Run,
		Addr:   q.Addr,
		CallID: q.CallID,
		Text:   q.Text,
		Limit:  q.Limit,
		Cursor: q.Cursor,

		MinRetrans: q.MinRetrans,
	}
	for _, k := range q.Kinds {
		kind, ok := transport.ParseEventKind(k)
		if !ok {
			return f, fmt.Errorf("%w: unknown event kind %q", web.ErrBadEventQuery, k)
		}
		f.Kinds = append(f.Kinds, kind)
	}
	switch q.Status {
	case "":
	case "SUCCESS", "FAILURE":
		s := transport.StatusSuccess
		if q.Status == "FAILURE" {
			s = transport.StatusFailure
		}
		f.Status = &s
	default:
		return f, fmt.Errorf("%w: status %q: want SUCCESS or FAILURE", web.ErrBadEventQuery, q.Status)
	}
	return f, nil
}

// queryError marks the store's errors about the query itself as
// web.ErrBadEventQuery, so that the API answers them with a 400.
func queryError(err error) error {
	if errors.Is(err, history.ErrBadCursor) || errors.Is(err, history.ErrBadFilter) || errors.Is(err, history.ErrBadFormat) {
		return fmt.Errorf("%w: %w", web.ErrBadEventQuery, err)
	}
	return err
}

// webEvent is a stored event as the web API shows it.
func webEvent(r *history.Record) web.Event {
	return web.Event{
		Seq: uint64(r.ID), Time: r.Time, Kind: r.Kind, Status: r.Status, ConnID: r.ConnID, Run: r.Run,
		Direction: r.Direction, Local: r.Local, Remote: r.Remote, Listener: r.Listener, Reason: r.Reason,
		TCP: r.TCP,
	}
}
