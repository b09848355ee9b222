package history

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// ContentType returns the HTTP content type of an export format ("" for an
// unknown one).
func ContentType(format string) string {
	switch format {
	case FormatJSONL:
		return "application/jsonl; charset=utf-8"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	}
	return ""
}

// Export writes every event that f selects to w, newest first, as JSON lines
// (one Record per line) or CSV (a header line, then the columns of Record).
// f.Limit bounds the number of events (zero: all); f.Cursor starts after a
// page. It reads the store a page at a time, each page a short read
// transaction, so a slow writer w never holds the database.
func (s *Store) Export(ctx context.Context, f Filter, format string, w io.Writer) error {
	if s.closed.Load() {
		return s.closedErr()
	}
	var enc recordWriter
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case FormatJSONL:
		enc = &jsonlWriter{enc: json.NewEncoder(bw)}
	case FormatCSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write(csvHeader); err != nil {
			return fmt.Errorf("history: export: %w", err)
		}
		enc = &csvWriter{w: cw}
	default:
		return fmt.Errorf("%w: %q (want %q or %q)", ErrBadFormat, format, FormatJSONL, FormatCSV)
	}
	total := f.Limit
	recs := make([]Record, 0, MaxLimit+1)
	for written := 0; total <= 0 || written < total; {
		n := MaxLimit
		if total > 0 {
			n = min(n, total-written)
		}
		q, err := s.buildQuery(&f, n+1)
		if err != nil {
			return err
		}
		if recs, err = s.fetch(ctx, q, recs[:0]); err != nil {
			return err
		}
		page := recs[:min(len(recs), n)]
		for i := range page {
			if err := enc.write(&page[i]); err != nil {
				return fmt.Errorf("history: export: %w", err)
			}
		}
		written += len(page)
		if err := enc.flush(); err != nil {
			return fmt.Errorf("history: export: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("history: export: %w", err)
		}
		if len(recs) <= n {
			return nil
		}
		last := &page[len(page)-1]
		f.Cursor = position{ts: last.Time.UnixMicro(), id: last.ID}.encode()
	}
	return nil
}

// recordWriter writes records in one export format.
type recordWriter interface {
	write(r *Record) error
	flush() error
}

type jsonlWriter struct{ enc *json.Encoder }

func (j *jsonlWriter) write(r *Record) error { return j.enc.Encode(r) }
func (j *jsonlWriter) flush() error          { return nil }

type csvWriter struct {
	w   *csv.Writer
	row []string
}

func (c *csvWriter) write(r *Record) error {
	c.row = r.csvRow(c.row)
	return c.w.Write(c.row)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}
