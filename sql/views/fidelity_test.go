package views_test

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/sql/views"
)

// writeObject writes a JWO-style object (the date in its key) into a new source folder.
func writeObject(t *testing.T, body []byte) string {
	t.Helper()
	src := t.TempDir()
	p := filepath.Join(src, "Order", "2024-06-05", "10", "ALL01.csv000")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestCSVValuesAsSent: the values of a CSV object come back through the typed views exactly as sent — leading
// zeros, a CRLF inside quotes, a bare quote inside an unquoted field (counted) — and a rejected row keeps its exact
// bytes (raw_exact), in the shell and for another Parquet reader (Apache Arrow's).
func TestCSVValuesAsSent(t *testing.T) {
	bad := "3,00501,y,\"bad \xff\xfe byte\",1,12"
	body := "order_id,zip,coords,note,amount,qty\r\n" +
		"1,08123,37°36'37.8\"N 121°2'17.9\"W,\"Once upon \r\na time\",0.5,0\r\n" +
		"2,90210,\"x\",plain,-0.5,12\r\n" +
		bad + "\r\n" +
		"4,-012,z,007.5,10.0,-7\r\n"
	lake := t.TempDir()
	sum := loadProfile(t, lake, "jwo-orders", writeObject(t, []byte(body)))
	if sum.Records != 3 || sum.Rejects != 1 || sum.LenientQuotes != 1 {
		t.Fatalf("summary: %d records, %d rejects, %d lenient quotes; want 3, 1, 1", sum.Records, sum.Rejects, sum.LenientQuotes)
	}
	db, _ := open(t, lake, views.Options{})
	types := columns(t, db, "orders")
	for c, want := range map[string]string{"order_id": "BIGINT", "zip": "VARCHAR", "note": "VARCHAR", "amount": "DECIMAL(38,1)", "qty": "BIGINT"} {
		if types[c] != want {
			t.Errorf("orders.%s is %s, want %s", c, types[c], want)
		}
	}
	got := laketest.Rows(t, db, "select order_id, zip, coords, note, amount::varchar, qty::varchar from orders order by order_id")
	want := [][]string{
		{"1", "08123", `37°36'37.8"N 121°2'17.9"W`, "Once upon \r\na time", "0.5", "0"},
		{"2", "90210", "x", "plain", "-0.5", "12"},
		{"4", "-012", "z", "007.5", "10.0", "-7"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("orders:\n%q\nwant:\n%q", got, want)
	}
	if n := laketest.One(t, db, "select lenient_quotes from eventlake.objects"); n != "1" {
		t.Errorf("eventlake.objects.lenient_quotes = %s, want 1", n)
	}
	rej := laketest.Rows(t, db, "select line, reason, hex(raw_exact), raw_bytes, typeof(raw_exact) from eventlake.rejects")
	if len(rej) != 1 || rej[0][0] != "5" || rej[0][1] != "invalid UTF-8 in a field" ||
		rej[0][2] != strings.ToUpper(hex.EncodeToString([]byte(bad))) || rej[0][3] != fmt.Sprint(len(bad)) || rej[0][4] != "BLOB" {
		t.Errorf("rejects = %q, want line 5 with raw_exact %X", rej, bad)
	}
	files := laketest.Files(t, filepath.Join(lake, "_rejects"))
	if len(files) != 1 {
		t.Fatalf("rejects files: %v", files)
	}
	if got := arrowByteColumn(t, filepath.Join(lake, "_rejects", files[0]), "raw_exact"); len(got) != 1 || string(got[0]) != bad {
		t.Errorf("Arrow reads raw_exact %q, want %q", got, bad)
	}
}

// arrowByteColumn reads a BYTE_ARRAY column of a Parquet file with Apache Arrow's Go reader.
func arrowByteColumn(t *testing.T, path, name string) [][]byte {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	idx := r.MetaData().Schema.ColumnIndexByName(name)
	if idx < 0 {
		t.Fatalf("%s has no column %s", path, name)
	}
	var out [][]byte
	for g := range r.NumRowGroups() {
		col, err := r.RowGroup(g).Column(idx)
		if err != nil {
			t.Fatal(err)
		}
		cr, ok := col.(*file.ByteArrayColumnChunkReader)
		if !ok {
			t.Fatalf("column %s is %T, not BYTE_ARRAY", name, col)
		}
		n := r.MetaData().RowGroups[g].NumRows
		vals := make([]parquet.ByteArray, n)
		def := make([]int16, n)
		_, read, err := cr.ReadBatch(n, vals, def, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals[:read] {
			out = append(out, bytes.Clone(v))
		}
	}
	return out
}

// TestCSVRoundTripProperty: any CSV a standard writer (encoding/csv) produces — fields with quotes, CR, LF, CRLF,
// delimiters, leading zeros, empty ones — reads back through the typed view (orders) as exactly the text written,
// whatever type each column is given (an empty field is NULL in a typed column, "" in a VARCHAR one).
func TestCSVRoundTripProperty(t *testing.T) {
	pieces := []string{"\"", "\r", "\n", "\r\n", ",", ";", "\t", "|", " ", "x", "é", "a\"b", "\"\"", "08123", "007.5", "-012", "00", "\\."}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			header := []string{"order_id", "text", "code", "qty", "amount"}
			records := [][]string{header}
			for i := range 5 + rng.IntN(40) {
				var text strings.Builder
				for range rng.IntN(6) {
					text.WriteString(pieces[rng.IntN(len(pieces))])
				}
				code := fmt.Sprint(rng.IntN(100000)) // sometimes zero-padded: then the column is text
				if rng.IntN(3) == 0 {
					code = fmt.Sprintf("%05d", rng.IntN(100000))
				}
				qty := fmt.Sprint(rng.IntN(2001) - 1000)
				amount := fmt.Sprintf("%d.%02d", rng.IntN(100), rng.IntN(100))
				if rng.IntN(2) == 0 {
					amount = "-" + amount
				}
				rec := []string{fmt.Sprint(i + 1), text.String(), code, qty, amount}
				for k := 2; k < len(rec); k++ {
					if rng.IntN(8) == 0 {
						rec[k] = ""
					}
				}
				records = append(records, rec)
			}
			var b bytes.Buffer
			w := csv.NewWriter(&b)
			w.Comma = []rune{',', ';', '\t', '|'}[rng.IntN(4)]
			if err := w.WriteAll(records); err != nil {
				t.Fatal(err)
			}
			lake := t.TempDir()
			sum := loadProfile(t, lake, "jwo-orders", writeObject(t, b.Bytes()))
			if sum.Records != int64(len(records)-1) || sum.Rejects != 0 || sum.LenientQuotes != 0 {
				t.Fatalf("summary: %d records, %d rejects, %d lenient quotes; wrote %d rows", sum.Records, sum.Rejects, sum.LenientQuotes, len(records)-1)
			}
			db, _ := open(t, lake, views.Options{})
			types := columns(t, db, "orders")
			got := laketest.Rows(t, db, `select order_id::varchar, coalesce(text::varchar, ''), coalesce(code::varchar, ''),
				coalesce(qty::varchar, ''), coalesce(amount::varchar, '') from orders order by order_id`)
			if !reflect.DeepEqual(got, records[1:]) {
				for i := range min(len(got), len(records)-1) {
					if !reflect.DeepEqual(got[i], records[i+1]) {
						t.Fatalf("row %d: %q, wrote %q (types %v)", i+1, got[i], records[i+1], types)
					}
				}
				t.Fatalf("%d rows, wrote %d", len(got), len(records)-1)
			}
		})
	}
}
