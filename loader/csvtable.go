package loader

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Delimited files (CSV) load into a table of their own rather than events:
// one Parquet file per object and partition, holding the fields as text
// exactly as received. Column types are inferred per table at load (integer,
// decimal, boolean, date, timestamp, string), widened across files, stored
// in the catalog with the object that changed them, and applied by the SQL
// views — so a widened type never needs a rewrite of the files.

// csvProfile maps delimited files onto a table.
type csvProfile struct {
	name      string
	table     string
	key       []string // header names (matched case- and punctuation-blind)
	order     []string // candidate update-time columns; the first present wins
	partition string   // partition column; "" → the date in the object key
}

// jwoOrders is the Amazon JWO intra-day order report profile: files
// Order/<YYYY-MM-DD>/<HH>/ALL<NN>.csv000 every 15 minutes; one order may be
// split across files, so the table is upserted by order id, newest first.
var jwoOrders = csvProfile{
	name:  "jwo-orders",
	table: "orders",
	key:   []string{"order_id"},
	order: []string{"updated_at", "last_updated_at", "last_updated", "last_update_time", "update_time",
		"order_updated_at", "modified_at", "last_modified"},
}

func csvProfilesFrom(c *config.Config) map[string]*csvProfile {
	out := map[string]*csvProfile{jwoOrders.name: &jwoOrders}
	for name, p := range c.CSVProfiles {
		cp := &csvProfile{name: name, table: p.Table, key: p.Key, partition: p.PartitionColumn}
		if cp.table == "" {
			cp.table = name
		}
		if p.Order != "" {
			cp.order = []string{p.Order}
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

// readCSV loads a delimited object into the buffer's table rows. It returns
// a quarantine reason when the whole object cannot be taken.
func (w *worker) readCSV(rd *format.Reader, j job, url string, r *result) (string, error) {
	cr, err := rd.CSV()
	if errors.Is(err, format.ErrBadHeader) {
		// The content will not change: quarantine, do not retry forever.
		if _, err := io.Copy(io.Discard, &w.head); err != nil {
			return "", err
		}
		return err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	header := cr.Header()
	p := w.l.csvProfiles[j.profile]
	if p == nil && j.profile == "auto" {
		if findColumn(header, "order_id") >= 0 {
			p = &jwoOrders
		}
	}
	if p == nil {
		if _, err := io.Copy(io.Discard, &w.head); err != nil {
			return "", err
		}
		return fmt.Sprintf("CSV content with header %s: load it with a CSV profile (--profile jwo-orders, or csv_profiles: in the config)", clip([]byte(strings.Join(header, ",")), 200)), nil
	}
	r.rec.Profile = p.name
	cols := tableColumns(header)
	for _, k := range p.key {
		if findColumn(cols, k) < 0 {
			return fmt.Sprintf("%s: key column %q is not in the header (%s)", p.name, k, clip([]byte(strings.Join(header, ",")), 200)), nil
		}
	}
	date, rt := reportTime(j.obj.Key)
	partCol := -1
	if p.partition != "" {
		if partCol = findColumn(cols, p.partition); partCol < 0 {
			return fmt.Sprintf("%s: partition column %q is not in the header", p.name, p.partition), nil
		}
	}
	types := schema.NewColumnTypes(cols)
	b := &w.buf
	b.table, b.columns, b.profile = p.table, cols, p
	for {
		row, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if row.Err != nil {
			reason := row.Err.Error()
			if errors.Is(row.Err, errRagged) || strings.Contains(reason, "wrong number of fields") {
				reason = fmt.Sprintf("ragged row: %d fields, header has %d", len(row.Fields), len(cols))
			}
			w.reject(url, row.Line, row.Offset, row.Size, reason, row.Raw, r)
			continue
		}
		bad := false
		for _, f := range row.Fields {
			if !utf8.ValidString(f) {
				w.reject(url, row.Line, row.Offset, row.Size, "invalid UTF-8 in a field", row.Raw, r)
				bad = true
				break
			}
		}
		if bad {
			continue
		}
		// A CSV object's rows cannot spill: past the arena budget, a
		// worker that already holds chunks overdraws it (str).
		need := 0
		for _, f := range row.Fields {
			need += len(f)
		}
		if !b.reserve(need) && len(b.chunks) == 0 {
			b.waitReserve(need)
		}
		fields := make([]string, len(row.Fields))
		for i, f := range row.Fields {
			fields[i] = b.str([]byte(f))
			types.Observe(i, f)
		}
		part := date
		if partCol >= 0 {
			if v := strings.TrimSpace(row.Fields[partCol]); len(v) >= 10 {
				part = v[:10]
			} else {
				part = ""
			}
		}
		if err := partitions.CheckValue(part); err != nil {
			w.reject(url, row.Line, row.Offset, row.Size, "partition value: "+err.Error(), row.Raw, r)
			continue
		}
		b.tableRows = append(b.tableRows, tableRow{part: part, row: partitions.TableRow{
			Fields: fields, ReportTime: rt, Object: url, Line: row.Line, Offset: row.Offset, LoadID: w.l.id, IngestedAt: w.l.ingestedAt,
		}})
		b.size += 64 + len(row.Raw)
		if row.BareQuote {
			r.rec.LenientQuotes++ // loaded, and counted: a strict reader would refuse the row
		}
		r.rec.Records++
		w.l.recordsDone.Add(1)
	}
	r.tableTypes = types
	return "", nil
}

var errRagged = errors.New("ragged row")

type tableRow struct {
	part string
	row  partitions.TableRow
}

// flushTable writes a finished CSV object's rows: one file per partition.
func (w *worker) flushTable() error {
	b := &w.buf
	byPart := map[string][]partitions.TableRow{}
	var parts []string
	for _, tr := range b.tableRows {
		if _, ok := byPart[tr.part]; !ok {
			parts = append(parts, tr.part)
		}
		byPart[tr.part] = append(byPart[tr.part], tr.row)
	}
	sort.Strings(parts)
	// The key columns get bloom filters: lookups by key in Spark or Trino
	// then skip the files that do not hold it.
	var bloom []string
	if b.profile != nil {
		for _, k := range b.profile.key {
			if i := findColumn(b.columns, k); i >= 0 {
				bloom = append(bloom, b.columns[i])
			}
		}
	}
	for _, p := range parts {
		dir := partitions.Dir("report_date", p)
		if b.profile != nil && b.profile.partition != "" {
			dir = partitions.Dir(sanitizeColumn(b.profile.partition), p)
		}
		f, err := partitions.WriteTable(w.l.stage, b.table, dir, b.columns, byPart[p], partitions.WriterOptions{ZstdLevel: w.l.opts.ZstdLevel, BloomColumns: bloom})
		if err != nil {
			return fmt.Errorf("%w: %v", errWrite, err)
		}
		w.extra = append(w.extra, f)
	}
	return nil
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

// columnTypes are the types of one CSV object's columns (a result field).
type columnTypes = schema.ColumnTypes

// tableSchemas folds the CSV objects of this load, in key order, into the
// stored table schemas; a change is attributed to the first object that
// caused it.
func (l *load) tableSchemas(stored []catalog.SchemaRecord, results []result) ([]catalog.SchemaRecord, error) {
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
	idx := make([]int, 0, len(results))
	for i, r := range results {
		if r.tableTypes != nil && r.rec.Status == catalog.ObjectCommitted {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return results[idx[a]].url < results[idx[b]].url })
	for _, i := range idx {
		r := results[i]
		p := l.csvProfiles[r.rec.Profile]
		if p == nil {
			continue
		}
		ts := cur[p.table]
		if ts == nil {
			ts = &schema.TableSchema{Key: p.key, Order: p.order, PartitionColumn: "report_date"}
			if p.partition != "" {
				ts.PartitionColumn = sanitizeColumn(p.partition)
			}
			cur[p.table] = ts
		}
		before, _ := json.Marshal(ts)
		ts.Merge(r.tableTypes)
		after, _ := json.Marshal(ts)
		if string(before) != string(after) {
			if _, ok := changedBy[p.table]; !ok {
				changedBy[p.table] = r.url
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
