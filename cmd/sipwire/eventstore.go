package main

import (
	"context"
	"fmt"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web"
	"github.com/sipwire/sipwire/web/history"
)

// historyEvents serves the web API's event queries from the history store.
type historyEvents struct{ store *history.Store }

func (h historyEvents) Query(ctx context.Context, q web.EventQuery) ([]web.Event, string, error) {
	f := history.Filter{
		Since:  q.Since,
		Until:  q.Until,
		ConnID: q.ConnID,
		Addr:   q.Addr,
		CallID: q.CallID,
		Text:   q.Text,
		Limit:  q.Limit,
		Cursor: q.Cursor,
	}
	for _, k := range q.Kinds {
		kind, ok := transport.ParseEventKind(k)
		if !ok {
			return nil, "", fmt.Errorf("unknown event kind %q", k)
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
		return nil, "", fmt.Errorf("status %q: want SUCCESS or FAILURE", q.Status)
	}
	page, err := h.store.Query(ctx, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]web.Event, len(page.Events))
	for i, r := range page.Events {
		out[i] = web.Event{
			Seq: uint64(r.ID), Time: r.Time, Kind: r.Kind, Status: r.Status, ConnID: r.ConnID,
			Direction: r.Direction, Local: r.Local, Remote: r.Remote, Listener: r.Listener, Reason: r.Reason,
		}
	}
	return out, page.Next, nil
}
