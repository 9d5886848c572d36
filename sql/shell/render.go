package shell

import (
	"bufio"
	"database/sql/driver"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/eventlake/eventlake/internal/jsonstr"
	"github.com/eventlake/eventlake/internal/termtext"
)

// resultWriter renders one result set in an output format.
type resultWriter interface {
	begin(cols []string, types []*typeInfo) error
	// row receives the values of one row; the slice is reused for the next row.
	row(vals []driver.Value) error
	end() error
}

// ---- csv ----

// csvWriter writes RFC 4180 CSV with a header line; NULL is an empty field.
type csvWriter struct {
	w      *csv.Writer
	types  []*typeInfo
	record []string
	noHead bool   // .headers off
	null   string // .nullvalue
}

func (c *csvWriter) begin(cols []string, types []*typeInfo) error {
	c.types = types
	c.record = make([]string, len(cols))
	if c.noHead {
		return nil
	}
	return c.w.Write(cols)
}

func (c *csvWriter) row(vals []driver.Value) error {
	for i, v := range vals {
		var ok bool
		if c.record[i], ok = textValue(v, c.types[i]); !ok {
			c.record[i] = c.null
		}
	}
	return c.w.Write(c.record)
}

func (c *csvWriter) end() error {
	c.w.Flush()
	return c.w.Error()
}

// ---- json ----

// jsonWriter writes one JSON array of objects, one object per line, streaming (constant memory). Keys follow
// the column order; a repeated column name gets a _2, _3… suffix so that no value is lost.
type jsonWriter struct {
	w     *bufio.Writer
	lines bool     // jsonlines: one object per line, no enclosing array
	keys  [][]byte // encoded "name": prefixes
	types []*typeInfo
	rows  int64
	buf   []byte
}

func (j *jsonWriter) begin(cols []string, types []*typeInfo) error {
	j.types = types
	j.keys = make([][]byte, len(cols))
	seen := make(map[string]bool, len(cols))
	for i, name := range cols {
		key := name
		for n := 2; seen[key]; n++ {
			key = name + "_" + strconv.Itoa(n)
		}
		seen[key] = true
		j.keys[i] = append(jsonstr.Append(nil, key), ':')
	}
	return nil
}

func (j *jsonWriter) row(vals []driver.Value) error {
	b := j.buf[:0]
	if j.lines {
		b = append(b, '{')
	} else if j.rows == 0 {
		b = append(b, "[\n{"...)
	} else {
		b = append(b, ",\n{"...)
	}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		b = appendJSON(b, v, j.types[i])
	}
	b = append(b, '}')
	if j.lines {
		b = append(b, '\n')
	}
	j.buf = b
	j.rows++
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) end() error {
	if j.lines {
		return nil
	}
	var err error
	if j.rows == 0 {
		_, err = j.w.WriteString("[]\n")
	} else {
		_, err = j.w.WriteString("\n]\n")
	}
	return err
}

// ---- line ----

// lineWriter writes "column = value" lines, names right-aligned, a blank line between rows (duckdb's .mode line).
type lineWriter struct {
	w     *bufio.Writer
	null  string // shown for NULL ("NULL" unless .nullvalue)
	names []string
	types []*typeInfo
	rows  int64
}

func (l *lineWriter) begin(cols []string, types []*typeInfo) error {
	l.types = types
	nameW := 0
	for _, c := range cols {
		nameW = max(nameW, displayWidth(termtext.Escape(c)))
	}
	l.names = make([]string, len(cols))
	for i, c := range cols {
		l.names[i] = pad(termtext.Escape(c), nameW, 'r')
	}
	return nil
}

func (l *lineWriter) row(vals []driver.Value) error {
	if l.rows > 0 {
		if err := l.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	l.rows++
	for i, v := range vals {
		s, ok := textValue(v, l.types[i])
		if !ok {
			s = l.null
		}
		l.w.WriteString(l.names[i])
		l.w.WriteString(" = ")
		l.w.WriteString(termtext.Lines(s)) // line breaks stay, as in the duckdb CLI: a multi-line document stays readable
		if err := l.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (l *lineWriter) end() error { return nil }

// ---- table ----

// minColWidth is the narrowest a column gets when cells are truncated to fit the terminal, before middle
// columns are dropped instead.
const minColWidth = 8

// maxTypeWidth bounds how much the type row widens a column (long STRUCT types are truncated instead).
const maxTypeWidth = 20

// tableWriter draws a box table like the duckdb CLI. It keeps at most maxRows rows: the first half and a ring of
// the last half, so memory stays bounded however long the result is; the rows in between are counted only.
type tableWriter struct {
	w       *bufio.Writer
	null    string // shown for NULL ("NULL" unless .nullvalue)
	fixed   []int  // .width: fixed column widths, 0 = automatic
	maxRows int    // <= 0: every row
	width   int    // terminal width; <= 0: unlimited
	cols    []string
	types   []*typeInfo
	head    [][]driver.Value
	tail    [][]driver.Value // ring buffer
	tailPos int
	total   int64
	headCap int
	tailCap int
}

func (t *tableWriter) begin(cols []string, types []*typeInfo) error {
	t.cols, t.types = cols, types
	if t.maxRows > 0 {
		t.headCap = (t.maxRows + 1) / 2
		t.tailCap = t.maxRows - t.headCap
	}
	return nil
}

func (t *tableWriter) row(vals []driver.Value) error {
	t.total++
	cp := append([]driver.Value(nil), vals...)
	switch {
	case t.maxRows <= 0 || len(t.head) < t.headCap:
		t.head = append(t.head, cp)
	case t.tailCap == 0:
	case len(t.tail) < t.tailCap:
		t.tail = append(t.tail, cp)
	default:
		t.tail[t.tailPos] = cp
		t.tailPos = (t.tailPos + 1) % t.tailCap
	}
	return nil
}

// cell is a rendered table cell.
type cell struct {
	text string
	null bool
}

func (t *tableWriter) renderRow(vals []driver.Value) []cell {
	out := make([]cell, len(vals))
	for i, v := range vals {
		s, ok := textValue(v, t.types[i])
		if !ok {
			out[i] = cell{text: termtext.Escape(t.null), null: true}
			continue
		}
		out[i] = cell{text: termtext.Escape(s)}
	}
	return out
}

func (t *tableWriter) end() error {
	if len(t.cols) == 0 {
		return nil
	}
	var head, tail [][]cell
	for _, r := range t.head {
		head = append(head, t.renderRow(r))
	}
	for i := range t.tail {
		tail = append(tail, t.renderRow(t.tail[(t.tailPos+i)%len(t.tail)]))
	}
	shown := int64(len(head) + len(tail))
	omitted := t.total - shown

	n := len(t.cols)
	headers := make([]string, n)
	typeNames := make([]string, n)
	natural := make([]int, n) // width wanted by header and values
	minimum := make([]int, n) // narrowest before dropping columns
	for i := range t.cols {
		headers[i] = termtext.Escape(t.cols[i])
		typeNames[i] = t.types[i].display()
		natural[i] = max(displayWidth(headers[i]), min(displayWidth(typeNames[i]), maxTypeWidth), 1)
	}
	for _, rows := range [][][]cell{head, tail} {
		for _, r := range rows {
			for i, c := range r {
				natural[i] = max(natural[i], displayWidth(c.text))
			}
		}
	}
	for i := range natural {
		if i < len(t.fixed) && t.fixed[i] > 0 {
			natural[i] = t.fixed[i]
		}
		minimum[i] = min(natural[i], minColWidth)
	}

	// Choose the columns to show and their widths.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	widths := append([]int(nil), natural...)
	gap := -1 // position in idx before which the "…" column goes; -1: none
	if t.width > 0 && tableWidth(natural) > t.width {
		if tableWidth(minimum) > t.width {
			idx, gap = chooseColumns(minimum, t.width)
		}
		nat := make([]int, len(idx))
		minW := make([]int, len(idx))
		for k, i := range idx {
			nat[k], minW[k] = natural[i], minimum[i]
		}
		avail := t.width
		if gap >= 0 {
			avail -= 4 // the "…" column: one cell plus its border and padding
		}
		widths = fitWidths(nat, minW, avail)
	} else {
		widths = natural
	}

	// Assemble the visible columns, the "…" column included.
	type column struct {
		header, typ string
		width       int
		src         int // index into the row, -1 for the "…" column
		align       byte
	}
	var columns []column
	for k, i := range idx {
		if k == gap {
			columns = append(columns, column{header: "…", width: 1, src: -1, align: 'c'})
		}
		align := byte('l')
		if t.types[i].numeric() {
			align = 'r'
		}
		columns = append(columns, column{header: headers[i], typ: typeNames[i], width: widths[k], src: i, align: align})
	}

	// Widen the last column if the "… N more rows …" marker would not fit inside the box.
	marker := fmt.Sprintf("… %s more %s …", formatCount(omitted), plural(omitted, "row", "rows"))
	inner := -1 // between the outer borders
	for _, c := range columns {
		inner += c.width + 3
	}
	if need := displayWidth(marker) + 2; omitted > 0 && inner < need && (t.width <= 0 || inner+2+need-inner <= t.width) {
		columns[len(columns)-1].width += need - inner
		inner = need
	}

	w := t.w
	border := func(left, mid, right string) {
		w.WriteString(left)
		for k, c := range columns {
			if k > 0 {
				w.WriteString(mid)
			}
			w.WriteString(strings.Repeat("─", c.width+2))
		}
		w.WriteString(right)
		w.WriteByte('\n')
	}
	line := func(text func(c column) (string, byte)) {
		w.WriteString("│")
		for _, c := range columns {
			s, align := text(c)
			w.WriteString(" " + pad(truncate(s, c.width), c.width, align) + " │")
		}
		w.WriteByte('\n')
	}
	dataLine := func(r []cell) {
		line(func(c column) (string, byte) {
			if c.src < 0 {
				return "…", 'c'
			}
			return r[c.src].text, c.align
		})
	}

	border("┌", "┬", "┐")
	line(func(c column) (string, byte) { return c.header, 'c' })
	line(func(c column) (string, byte) { return c.typ, 'c' })
	border("├", "┼", "┤")
	for _, r := range head {
		dataLine(r)
	}
	if omitted > 0 {
		if displayWidth(marker) <= inner {
			w.WriteString("│" + pad(marker, inner, 'c') + "│\n")
		} else {
			w.WriteString(marker + "\n")
		}
	}
	for _, r := range tail {
		dataLine(r)
	}
	border("└", "┴", "┘")

	footer := formatCount(t.total) + " " + plural(t.total, "row", "rows")
	if omitted > 0 {
		footer += " (" + formatCount(shown) + " shown)"
	}
	if len(idx) < n {
		footer += fmt.Sprintf(", %d columns (%d shown)", n, len(idx))
	}
	w.WriteString(footer + "\n")
	return nil
}

// tableWidth is the width of a table with these column widths: "│ a │ b │".
func tableWidth(widths []int) int {
	total := 1
	for _, w := range widths {
		total += w + 3
	}
	return total
}

// fitWidths narrows the widest columns first (never below their minimum) until the table fits avail cells. It
// finds the largest cap C such that every column at min(natural, max(C, minimum)) fits.
func fitWidths(natural, minimum []int, avail int) []int {
	at := func(c int) []int {
		out := make([]int, len(natural))
		for i := range natural {
			out[i] = max(min(natural[i], c), minimum[i])
		}
		return out
	}
	lo, hi := 0, 0
	for _, w := range natural {
		hi = max(hi, w)
	}
	if tableWidth(at(hi)) <= avail {
		return at(hi)
	}
	for lo < hi { // invariant: at(hi) does not fit
		mid := (lo + hi) / 2
		if tableWidth(at(mid)) <= avail {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return at(max(lo-1, 0))
}

// chooseColumns picks the columns shown when even minimum widths are too wide: columns from the left and the
// right edges alternately while they fit, with a "…" column in between (returned as gap, the position in the
// result before which it goes). The first column is always shown.
func chooseColumns(minimum []int, avail int) (idx []int, gap int) {
	n := len(minimum)
	used := tableWidth(nil) + 4 // outer border plus the "…" column
	left, right := 0, n         // shown: [0, left) and [right, n)
	for turn := 0; left < right; turn++ {
		i := left
		if turn%2 == 1 {
			i = right - 1
		}
		need := minimum[i] + 3
		if used+need > avail && !(left == 0 && i == 0) {
			break
		}
		used += need
		if i == left {
			left++
		} else {
			right--
		}
	}
	for i := 0; i < left; i++ {
		idx = append(idx, i)
	}
	gap = len(idx)
	for i := right; i < n; i++ {
		idx = append(idx, i)
	}
	if left >= right { // everything fits after all
		gap = -1
	}
	return idx, gap
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatCount writes a count.
func formatCount(n int64) string {
	return strconv.FormatInt(n, 10)
}
