// Package csvtable loads delimited (CSV) objects into tables of their own:
// the CSV profiles, reading one object's rows, and inferring column types.
package csvtable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Delimited files (CSV) load into a table of their own rather than events:
// one Parquet file per partition and load, holding the fields as text
// exactly as received. Column types are inferred per table at load (integer,
// decimal, boolean, date, timestamp, string), widened across files, stored
// in the catalog with the object that changed them, and applied by the SQL
// views — so a widened type never needs a rewrite of the files.

// Profile maps delimited files onto a table.
type Profile struct {
	Name      string
	Table     string
	Key       []string // header names (matched case- and punctuation-blind)
	Order     []string // candidate update-time columns; the first present wins
	Partition string   // partition column; "" → the date in the object key
}

// JWOOrders is the Amazon JWO intra-day order report profile: files
// Order/<YYYY-MM-DD>/<HH>/ALL<NN>.csv000 every 15 minutes; one order may be
// split across files, so the table is upserted by order id, newest first.
var JWOOrders = Profile{
	Name:  "jwo-orders",
	Table: "orders",
	Key:   []string{"order_id"},
	Order: []string{"updated_at", "last_updated_at", "last_updated", "last_update_time", "update_time",
		"order_updated_at", "modified_at", "last_modified"},
}

// Profiles returns the built-in CSV profiles and the config's csv_profiles,
// by name.
func Profiles(c *config.Config) map[string]*Profile {
	out := map[string]*Profile{JWOOrders.Name: &JWOOrders}
	for name, p := range c.CSVProfiles {
		cp := &Profile{Name: name, Table: p.Table, Key: p.Key, Partition: p.PartitionColumn}
		if cp.Table == "" {
			cp.Table = name
		}
		if p.Order != "" {
			cp.Order = []string{p.Order}
		}
		out[name] = cp
	}
	return out
}

// tableColumns turns a header into unique, non-reserved column names.
func tableColumns(header []string) []string {
	out := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		c := strings.TrimSpace(h)
		if c == "" {
			c = fmt.Sprintf("column_%d", i+1)
		}
		if strings.HasPrefix(c, "_") {
			c = "col" + c
		}
		base := c
		for k := 2; seen[strings.ToLower(c)]; k++ {
			c = fmt.Sprintf("%s_%d", base, k)
		}
		seen[strings.ToLower(c)] = true
		out[i] = c
	}
	return out
}

func findColumn(cols []string, want string) int {
	w := schema.NormColumn(want)
	for i, c := range cols {
		if schema.NormColumn(c) == w {
			return i
		}
	}
	return -1
}

// keyDate finds the report date and time in an object key:
// …/YYYY-MM-DD/HH/ALLNN.csv000 → 2024-06-05 22:15 UTC (minute from NN).
var keyDate = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})(?:/(\d{1,2})(?:/[A-Za-z_]*?(\d{2})(?:\.|$))?)?`)

func reportTime(key string) (date string, micros int64) {
	m := keyDate.FindAllStringSubmatch(key, -1)
	if m == nil {
		return "", 0
	}
	s := m[len(m)-1]
	t, err := time.Parse("2006-01-02", s[1]+"-"+s[2]+"-"+s[3])
	if err != nil {
		return "", 0
	}
	if s[4] != "" {
		h, _ := strconv.Atoi(s[4])
		if h < 24 {
			t = t.Add(time.Duration(h) * time.Hour)
		}
		if s[5] != "" {
			mi, _ := strconv.Atoi(s[5])
			if mi < 60 {
				t = t.Add(time.Duration(mi) * time.Minute)
			}
		}
	}
	return s[1] + "-" + s[2] + "-" + s[3], t.UnixMicro()
}

// Sink is what reading an object's rows needs from the loader: an arena for
// the fields' text, and somewhere to put rejects and count rows.
type Sink interface {
	// Keep returns a string over s's bytes that stays valid until the
	// table is written: s itself when its bytes already do (an object read
	// whole, whose buffer outlives its rows), else a copy in the arena.
	Keep(s string) string
	// Str copies s into the arena and returns a string over the copy.
	Str(s string) string
	// Reject records a row that cannot be loaded.
	Reject(line, offset, size int64, reason string, raw []byte)
	// Row counts a loaded row of about size buffered bytes; lenient when
	// a strict reader would have refused it (a bare quote).
	Row(size int, lenient bool)
}

// Object names the object being read, for its rows' lineage columns.
type Object struct {
	Key        string // the key in its source (its report date and time)
	URL        string
	LoadID     string
	IngestedAt int64
}

// Table is one delimited object's rows, for its table.
type Table struct {
	Profile *Profile
	Types   *schema.ColumnTypes // the object's column types, once read
	rd      *format.CSVReader
	columns []string
	// rows are the object's rows in order; parts[i] is row i's partition
	// value, kept only once two rows differ (part is every row's until
	// then: an object's rows usually share one partition).
	rows  []partitions.TableRow
	part  string
	parts []string
	slabs [][]string // the rows' field slices, recycled after Write
}

// The row slices and field slabs of objects already written are recycled:
// a load reads hundreds of objects of thousands of rows each, and growing
// fresh slices for each one was a third of the CSV shape's allocation.
var (
	rowsPool = sync.Pool{New: func() any { return new([]partitions.TableRow) }}
	slabPool = sync.Pool{New: func() any { s := make([]string, 0, slabFields); return &s }}
)

// slabFields is the capacity of a recycled field slab.
const slabFields = 4096

// Open reads an object's header and chooses its profile (want, or auto's
// guess). It returns a quarantine reason when the whole object cannot be
// taken; the table is non-nil once a profile was chosen, also then. Content
// refused before a profile was chosen is drained from rest.
func Open(rd *format.Reader, profiles map[string]*Profile, want string, key string, rest io.Reader) (*Table, string, error) {
	cr, err := rd.CSV()
	if errors.Is(err, format.ErrBadHeader) {
		// The content will not change: quarantine, do not retry forever.
		if _, err := io.Copy(io.Discard, rest); err != nil {
			return nil, "", err
		}
		return nil, err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	header := cr.Header()
	p := profiles[want]
	if p == nil && want == "auto" {
		if findColumn(header, "order_id") >= 0 {
			p = &JWOOrders
		}
	}
	if p == nil {
		if _, err := io.Copy(io.Discard, rest); err != nil {
			return nil, "", err
		}
		return nil, fmt.Sprintf("CSV content with header %s: load it with a CSV profile (--profile jwo-orders, or csv_profiles: in the config)", clip([]byte(strings.Join(header, ",")), 200)), nil
	}
	t := &Table{Profile: p, rd: cr, columns: tableColumns(header)}
	for _, k := range p.Key {
		if findColumn(t.columns, k) < 0 {
			return t, fmt.Sprintf("%s: key column %q is not in the header (%s)", p.Name, k, clip([]byte(strings.Join(header, ",")), 200)), nil
		}
	}
	if p.Partition != "" && findColumn(t.columns, p.Partition) < 0 {
		return t, fmt.Sprintf("%s: partition column %q is not in the header", p.Name, p.Partition), nil
	}
	return t, "", nil
}

// Read takes the object's rows, their text in the sink's arena.
func (t *Table) Read(o Object, s Sink) error {
	p, cols, cr := t.Profile, t.columns, t.rd
	date, rt := reportTime(o.Key)
	partCol := -1
	if p.Partition != "" {
		partCol = findColumn(cols, p.Partition)
	}
	types := schema.NewColumnTypes(cols)
	var slab []string
	checked, checkedPart := false, "" // the last partition value that passed CheckValue
	if t.rows == nil {
		t.rows = (*rowsPool.Get().(*[]partitions.TableRow))[:0]
	}
	for {
		// The row's text and fields are the reader's until the next row:
		// they are copied below (Reject copies what it keeps of Raw).
		row, err := cr.NextShared()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if row.Err != nil {
			reason := row.Err.Error()
			if errors.Is(row.Err, errRagged) || strings.Contains(reason, "wrong number of fields") {
				reason = fmt.Sprintf("ragged row: %d fields, header has %d", len(row.Fields), len(cols))
			}
			s.Reject(row.Line, row.Offset, row.Size, reason, row.Raw)
			continue
		}
		// The fields are valid UTF-8 exactly when the row's text is: they
		// are that text without some of its ASCII bytes (delimiters and
		// quotes), which sit between whole characters.
		if !utf8.Valid(row.Raw) {
			s.Reject(row.Line, row.Offset, row.Size, "invalid UTF-8 in a field", row.Raw)
			continue
		}
		// The fields are cut from one text that holds them all: the row's
		// own, in place, or one copy of it.
		text := s.Keep(row.Text)
		// The rows' field slices are cut from a shared slab: one allocation
		// per many rows (all of them live until the table is written).
		if cap(slab)-len(slab) < len(row.Fields) {
			if len(row.Fields) <= slabFields {
				slab = (*slabPool.Get().(*[]string))[:0]
				t.slabs = append(t.slabs, slab)
			} else {
				slab = make([]string, 0, len(row.Fields))
			}
		}
		k := len(slab)
		fields := slab[k : k+len(row.Fields) : k+len(row.Fields)]
		slab = slab[:k+len(row.Fields)]
		for i, f := range row.Fields {
			fields[i] = within(s, text, row.Text, f)
		}
		types.ObserveRow(fields)
		part := date
		if partCol >= 0 {
			if v := strings.TrimSpace(fields[partCol]); len(v) >= 10 {
				part = v[:10]
			} else {
				part = ""
			}
		}
		// The same partition value repeats over the rows (every row of a
		// JWO object has its key's date): it is checked once.
		if !checked || part != checkedPart {
			if err := partitions.CheckValue(part); err != nil {
				s.Reject(row.Line, row.Offset, row.Size, "partition value: "+err.Error(), row.Raw)
				continue
			}
			checked, checkedPart = true, part
		}
		switch {
		case len(t.rows) == 0:
			t.part = part
		case t.parts != nil:
			t.parts = append(t.parts, part)
		case part != t.part:
			t.parts = make([]string, len(t.rows), max(2*len(t.rows), 64))
			for i := range t.parts {
				t.parts[i] = t.part
			}
			t.parts = append(t.parts, part)
		}
		t.rows = append(t.rows, partitions.TableRow{
			Fields: fields, ReportTime: rt, Object: o.URL, Line: row.Line, Offset: row.Offset, LoadID: o.LoadID, IngestedAt: o.IngestedAt,
		})
		s.Row(64+len(row.Raw), row.BareQuote)
	}
	t.Types = types
	return nil
}

var errRagged = errors.New("ragged row")

// within returns the substring of copied, a copy of text, at f's place in
// text (the CSV reader's fields are substrings of its row's Text; a field
// that is not is copied on its own). An empty field is "".
func within(s Sink, copied, text, f string) string {
	if len(f) == 0 {
		return ""
	}
	off := uintptr(unsafe.Pointer(unsafe.StringData(f))) - uintptr(unsafe.Pointer(unsafe.StringData(text)))
	if off > uintptr(len(text)) || uintptr(len(text))-off < uintptr(len(f)) {
		return s.Str(f)
	}
	return copied[off : off+uintptr(len(f))]
}

// Dest takes a table's rows for its files. The loader keeps one writer per
// table and column set for the whole load, so a load makes one file per
// partition, not one per object and partition.
type Dest interface {
	// WriteTable appends rows to partition (an escaped partition directory)
	// of table, whose files have these data columns; bloom names the
	// columns that get bloom filters.
	WriteTable(table string, columns, bloom []string, partition string, rows []partitions.TableRow) error
}

// Write hands a finished object's rows to dst, a run per partition. Once
// they were written, the table's rows are recycled: Write is called once.
func (t *Table) Write(dst Dest) error {
	if len(t.rows) == 0 {
		return nil
	}
	// Runs per partition, in the order of the partition values: the rows
	// themselves when they share one (no copy), else grouped stably.
	parts := []string{t.part}
	runs := [][]partitions.TableRow{t.rows}
	if t.parts != nil {
		count := map[string]int{}
		for _, p := range t.parts {
			if count[p] == 0 {
				parts = append(parts, p)
			}
			count[p]++
		}
		parts = parts[1:]
		sort.Strings(parts)
		grouped := make([]partitions.TableRow, len(t.rows))
		next := map[string]int{}
		runs = runs[:0]
		at := 0
		for _, p := range parts {
			next[p] = at
			runs = append(runs, grouped[at:at+count[p]])
			at += count[p]
		}
		for i, p := range t.parts {
			grouped[next[p]] = t.rows[i]
			next[p]++
		}
	}
	// The key columns get bloom filters: lookups by key in Spark or Trino
	// then skip the files that do not hold it.
	var bloom []string
	for _, k := range t.Profile.Key {
		if i := findColumn(t.columns, k); i >= 0 {
			bloom = append(bloom, t.columns[i])
		}
	}
	for i, p := range parts {
		dir := partitions.Dir("report_date", p)
		if t.Profile.Partition != "" {
			dir = partitions.Dir(sanitizeColumn(t.Profile.Partition), p)
		}
		if err := dst.WriteTable(t.Profile.Table, t.columns, bloom, dir, runs[i]); err != nil {
			return err
		}
	}
	t.release()
	return nil
}

// release gives the rows' slices back for the next objects (the writers
// keep none of them: they copy or encode what they take).
func (t *Table) release() {
	clear(t.rows)
	rows := t.rows[:0]
	rowsPool.Put(&rows)
	for _, s := range t.slabs {
		clear(s[:cap(s)])
		s = s[:0]
		slabPool.Put(&s)
	}
	t.rows, t.parts, t.slabs = nil, nil, nil
}

func sanitizeColumn(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Typed is a committed CSV object's column types.
type Typed struct {
	URL     string
	Profile string
	Types   *schema.ColumnTypes
}

// Schemas folds the CSV objects of a load, in URL order, into the stored
// table schemas; a change is attributed to the first object that caused it.
// It returns the schema records that changed.
func Schemas(profiles map[string]*Profile, stored []catalog.SchemaRecord, objects []Typed) ([]catalog.SchemaRecord, error) {
	cur := map[string]*schema.TableSchema{}
	orig := map[string]string{}
	changedBy := map[string]string{}
	for _, s := range stored {
		if s.Table == "events" {
			continue
		}
		ts := &schema.TableSchema{}
		if err := json.Unmarshal([]byte(s.JSON), ts); err != nil {
			continue
		}
		cur[s.Table] = ts
		orig[s.Table] = s.JSON
	}
	objects = append([]Typed(nil), objects...)
	sort.Slice(objects, func(a, b int) bool { return objects[a].URL < objects[b].URL })
	for _, o := range objects {
		p := profiles[o.Profile]
		if p == nil {
			continue
		}
		ts := cur[p.Table]
		if ts == nil {
			ts = &schema.TableSchema{Key: p.Key, Order: p.Order, PartitionColumn: "report_date"}
			if p.Partition != "" {
				ts.PartitionColumn = sanitizeColumn(p.Partition)
			}
			cur[p.Table] = ts
		}
		before, _ := json.Marshal(ts)
		ts.Merge(o.Types)
		after, _ := json.Marshal(ts)
		if string(before) != string(after) {
			if _, ok := changedBy[p.Table]; !ok {
				changedBy[p.Table] = o.URL
			}
		}
	}
	var out []catalog.SchemaRecord
	var tables []string
	for t := range cur {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		js, err := json.Marshal(cur[t])
		if err != nil {
			return nil, err
		}
		if string(js) == orig[t] {
			continue
		}
		out = append(out, catalog.SchemaRecord{Table: t, Key: t, JSON: string(js), Source: "inferred", ChangedByObject: changedBy[t]})
	}
	return out, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
