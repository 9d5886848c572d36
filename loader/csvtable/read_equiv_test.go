package csvtable

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/format"
)

// arenaSink is a sink whose Str copies into an arena, as the loader's does,
// and that records the rejects.
type arenaSink struct {
	arena   []byte
	rows    int
	rejects []string
}

func (s *arenaSink) Keep(p string) string { return s.Str(p) }
func (s *arenaSink) Str(p string) string {
	if len(p) == 0 {
		return ""
	}
	b := make([]byte, len(p)) // a fresh block: earlier strings stay as they are
	copy(b, p)
	s.arena = b
	return string(b)
}
func (s *arenaSink) Row(int, bool) { s.rows++ }
func (s *arenaSink) Reject(line, offset, size int64, reason string, _ []byte) {
	s.rejects = append(s.rejects, fmt.Sprintf("%d@%d+%d %s", line, offset, size, reason))
}

// oracleRead is what Read took from a CSV before it copied a row's text at
// once: every row the reader returns, rejected when the reader failed it or
// one of its fields is not UTF-8, each field copied on its own.
func oracleRead(t *testing.T, data []byte) (rows [][]string, rejects []string) {
	t.Helper()
	cr, err := format.NewCSVReader(bytes.NewReader(data), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ncol := len(cr.Header())
	for {
		row, err := cr.Next()
		if err == io.EOF {
			return rows, rejects
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Err != nil {
			reason := row.Err.Error()
			if strings.Contains(reason, "wrong number of fields") {
				reason = fmt.Sprintf("ragged row: %d fields, header has %d", len(row.Fields), ncol)
			}
			rejects = append(rejects, fmt.Sprintf("%d@%d+%d %s", row.Line, row.Offset, row.Size, reason))
			continue
		}
		bad := false
		for _, f := range row.Fields {
			if !utf8.ValidString(f) {
				bad = true
			}
		}
		if bad {
			rejects = append(rejects, fmt.Sprintf("%d@%d+%d %s", row.Line, row.Offset, row.Size, "invalid UTF-8 in a field"))
			continue
		}
		rows = append(rows, slices.Clone(row.Fields))
	}
}

// TestReadSameRows reads random order reports (quoted fields, doubled
// quotes, embedded newlines, bare quotes, ragged rows, and invalid UTF-8
// split across fields, delimiters and quotes) and requires the rows,
// fields and rejects the former per-field reading gives.
func TestReadSameRows(t *testing.T) {
	pieces := []string{"", "a", "12.50", "日本", "\xe6\x97", "\xa5", "\xff", "x\xe6", "\"q,\"\"x\"\"\"", "\"multi\nline\"", "\"\xe6\"", "b\"are", "é", "\"\"", "\"a\xe6\"\"\x97\xa5\""}
	profiles := Profiles(&config.Config{})
	var utf8Rejects, quoted, rowsRead int
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 3))
		var b strings.Builder
		b.WriteString("order_id,note,total\n")
		for i := range 50 {
			n := 3
			if r.IntN(15) == 0 {
				n = 2 + r.IntN(3)
			}
			for j := range n {
				if j > 0 {
					b.WriteByte(',')
				}
				if j == 0 {
					fmt.Fprint(&b, i)
				}
				b.WriteString(pieces[r.IntN(len(pieces))])
				if r.IntN(4) == 0 && !strings.HasSuffix(b.String(), "\"") {
					b.WriteString(pieces[r.IntN(len(pieces))])
				}
			}
			if r.IntN(5) == 0 {
				b.WriteByte('\r')
			}
			b.WriteByte('\n')
		}
		data := []byte(b.String())
		wantRows, wantRejects := oracleRead(t, data)
		tbl, q, err := Open(format.NewReaderBytes(data, format.Options{}), profiles, "jwo-orders", "", strings.NewReader(""))
		if err != nil || q != "" {
			t.Fatalf("seed %d: open: %q %v", seed, q, err)
		}
		s := &arenaSink{}
		if err := tbl.Read(Object{Key: "Order/2024-06-05/10/ALL00.csv000", URL: "file:///x"}, s); err != nil {
			t.Fatal(err)
		}
		var gotRows [][]string
		for _, row := range tbl.rows {
			gotRows = append(gotRows, row.Fields)
		}
		if fmt.Sprintf("%q", gotRows) != fmt.Sprintf("%q", wantRows) || !slices.Equal(s.rejects, wantRejects) {
			t.Fatalf("seed %d: input %q\ngot  %q %q\nwant %q %q", seed, data, gotRows, s.rejects, wantRows, wantRejects)
		}
		rowsRead += len(gotRows)
		for _, r := range s.rejects {
			if strings.HasSuffix(r, "invalid UTF-8 in a field") {
				utf8Rejects++
			}
		}
		for _, row := range gotRows {
			for _, f := range row {
				if strings.Contains(f, "\"") || strings.Contains(f, ",") || strings.Contains(f, "\n") {
					quoted++
				}
			}
		}
		tbl.release()
	}
	if utf8Rejects < 100 || quoted < 100 || rowsRead < 1000 {
		t.Errorf("too few cases: %d UTF-8 rejects, %d quoted rows, %d rows", utf8Rejects, quoted, rowsRead)
	}
}
