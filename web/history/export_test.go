package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/sipwire/sipwire/transport"
)

func TestExportJSONL(t *testing.T) {
	s := openTest(t, testConfig(t))
	evs := genEvents(2*MaxLimit + 123) // several internal pages
	record(t, s, evs...)
	all := recordsOf(evs, s.Run())
	for _, f := range []Filter{{}, {Addr: "10.1.2.3", Kinds: []transport.EventKind{transport.EventClosed}}, {Limit: 1500}, {Limit: 5, Text: "eof"}} {
		var buf bytes.Buffer
		if err := s.Export(context.Background(), f, FormatJSONL, &buf); err != nil {
			t.Fatal(err)
		}
		var got []Record
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, r)
		}
		exp := want(all, Filter{Addr: f.Addr, Kinds: f.Kinds, Text: f.Text}, s.Run(), nil)
		if f.Limit > 0 {
			exp = exp[:min(f.Limit, len(exp))]
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: exported %d records, want %d (%s)", describe(f), len(got), len(exp), firstDiff(got, exp))
		}
	}
}

func TestExportCSV(t *testing.T) {
	s := openTest(t, testConfig(t))
	evs := genEvents(MaxLimit + 10)
	evs[3].Reason = "quote \" and, comma\nnewline"
	record(t, s, evs...)
	var buf bytes.Buffer
	if err := s.Export(context.Background(), Filter{}, FormatCSV, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows[0], csvHeader) {
		t.Fatalf("header %v", rows[0])
	}
	exp := recordsOf(evs, s.Run())
	if len(rows)-1 != len(exp) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(exp))
	}
	for i, row := range rows[1:] {
		r := exp[i]
		tm, err := time.Parse(time.RFC3339Nano, row[2])
		if err != nil {
			t.Fatal(err)
		}
		if row[0] != strconv.FormatInt(r.ID, 10) || !tm.Equal(r.Time) || row[3] != r.Kind || row[4] != r.Status ||
			row[5] != strconv.FormatUint(r.ConnID, 10) || row[6] != r.Direction || row[7] != r.Local ||
			row[8] != r.Remote || row[9] != r.Listener || row[10] != r.Reason {
			t.Fatalf("row %d = %q, want %+v", i, row, r)
		}
	}
}

func TestExportBadFormat(t *testing.T) {
	s := openTest(t, testConfig(t))
	var buf bytes.Buffer
	if err := s.Export(context.Background(), Filter{}, "xml", &buf); !errors.Is(err, ErrBadFormat) || buf.Len() != 0 {
		t.Fatalf("xml: %v, wrote %q", err, buf.String())
	}
	if ContentType(FormatCSV) == "" || ContentType(FormatJSONL) == "" || ContentType("xml") != "" {
		t.Fatal("ContentType")
	}
}
