package loader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// writePrettyCorpus writes pretty-printed concatenated Pismo and
// fulfillmenttools events, with every kind of bad record among them: broken
// and unclosed JSON, records that are valid JSON but not events (missing or
// repeated envelope fields, bad timestamps, lone surrogates, duplicate keys
// in data), invalid UTF-8, records over MaxRecordBytes, garbage between
// records, non-object values, CRLF line ends.
func writePrettyCorpus(t *testing.T, dir string) {
	t.Helper()
	pretty := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, `,"`, ",\n  \""), `{"`, "{\n  \"")
	}
	var b strings.Builder
	for i := range 300 {
		id := fmt.Sprintf("pp-%d", i)
		switch i % 37 {
		case 3:
			b.WriteString("{\n  \"event_id\": \"unclosed\",\n")
		case 5:
			b.WriteString(pretty(`{"domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{}}`) + "\n") // no event_id
		case 8:
			b.WriteString(pretty(`{"event_id":"dup","event_id":"dup2","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{}}`) + "\n")
		case 11:
			b.WriteString(pretty(`{"event_id":"ts","domain":"account","event_type":"x-1","timestamp":"yesterday","data":{}}`) + "\n")
		case 14:
			b.WriteString(pretty(`{"event_id":"sur","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{"s":"\ud800"}}`) + "\n")
		case 17:
			b.WriteString(pretty(`{"event_id":"dk","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{"a":1,"a":2}}`) + "\n")
		case 19:
			b.WriteString(pretty("{\"event_id\":\"utf\xff\",\"domain\":\"account\",\"event_type\":\"x-1\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"data\":{}}") + "\n")
		case 22:
			b.WriteString(pretty(`{"event_id":"huge","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{"pad":"`+strings.Repeat("p", 20000)+`"}}`) + "\n")
		case 25:
			b.WriteString("export continues here\n")
		case 27:
			b.WriteString("[1, 2]\n")
		case 29:
			b.WriteString("{\"event_id\": \"raw\nnewline\", \"timestamp\": \"2024-01-01T00:00:00Z\"}\n")
		case 31:
			b.WriteString(pretty(`{"event_id":"dom","domain":"a/b","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{}}`) + "\n")
		case 33:
			b.WriteString(`{"event_id":"deep","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "}\n")
		}
		ev := fmt.Sprintf(`{"event_id":"%s","domain":"account","event_type":"x-%d","timestamp":"2024-01-0%dT00:00:00Z","data":{"id":"%s","n":%d,"nested":{"k":[1,"two",{"three":null}]}}}`,
			id, i%4, 1+i%5, id, i)
		if i%7 == 0 {
			ev = strings.ReplaceAll(pretty(ev), "\n", "\r\n")
		} else if i%2 == 0 {
			ev = pretty(ev)
		}
		b.WriteString(ev)
		if i%11 == 0 {
			b.WriteString(" ") // another object on the same line
		} else {
			b.WriteString("\n")
		}
	}
	ft := strings.ReplaceAll(b.String(), `"event_id"`, `"id"`)
	ft = strings.ReplaceAll(ft, `"event_type"`, `"eventName"`)
	ft = strings.ReplaceAll(ft, `"timestamp"`, `"created"`)
	ft = strings.ReplaceAll(ft, `"data"`, `"payload"`)
	// A zstd object is streamed: only its last buffer is offered to the walk.
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := string(enc.EncodeAll([]byte(strings.ReplaceAll(b.String(), "pp-", "zs-")), nil))
	for name, body := range map[string]string{"pismo/pa.json": b.String(), "ft/fa.json": ft, "pismo/tail.json": b.String() + `{"event_id":"cut","domain":"acc`, "pismo/zs.json.zst": zs} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Records whose end the profile finds while mapping them (PrefixMapper)
// load exactly the rows, rejects (line, offset, bytes, reason) and catalog
// records that scanning each record's extent first does.
func TestFusedRecordsLoadAsScanned(t *testing.T) {
	dir := t.TempDir()
	writePrettyCorpus(t, dir)
	writeWholeCorpus(t, dir)
	run := func(fuse bool, src, prof string) ([]string, []string, []string) {
		defer func(was bool) { fuseRecords = was }(fuseRecords)
		fuseRecords = fuse
		lake := t.TempDir()
		sum, err := Run(context.Background(), Options{Lake: lake, Workers: 2, MaxRecordBytes: 8 << 10, Profile: prof}, []SourceSpec{{URL: src}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Failed != 0 {
			t.Fatalf("%+v", sum)
		}
		return wholeLake(t, lake)
	}
	for _, c := range []struct{ src, prof string }{
		{filepath.Join(dir, "pismo"), "pismo"}, {filepath.Join(dir, "ft"), "fulfillmenttools"}, {dir, ""},
	} {
		sev, srj, sob := run(false, c.src, c.prof)
		fev, frj, fob := run(true, c.src, c.prof)
		if len(sev) < 100 || len(srj) < 10 {
			t.Fatalf("%s: corpus too small: %d events, %d rejects", c.src, len(sev), len(srj))
		}
		for _, d := range []struct {
			what      string
			got, want []string
		}{{"events", fev, sev}, {"rejects", frj, srj}, {"objects", fob, sob}} {
			if !reflect.DeepEqual(d.got, d.want) {
				t.Errorf("%s: %s differ when mapping finds the records' ends:\n%s", c.src, d.what, firstDiff(d.got, d.want))
			}
		}
	}
}
