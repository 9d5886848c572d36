package format

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unsafe"
)

// ErrBadHeader is wrapped by the error of NewCSVReader and Reader.CSV when the header row is missing or malformed
// (a read error of the stream is returned as itself).
var ErrBadHeader = errors.New("bad CSV header")

// csvDelims are the delimiter candidates, in tie-break order.
var csvDelims = [...]byte{',', ';', '\t', '|'}

func isDelimCandidate(c byte) bool { return c == ',' || c == ';' || c == '\t' || c == '|' }

// CSVRow is one row of a CSV file.
type CSVRow struct {
	Fields []string // the row's fields (nil after a parse error or for a too-large row; set for a ragged row)
	// Text holds every field as a substring, in order (the row's text with its quotes removed, or with its
	// delimiters kept when it has no quotes): a caller that copies the fields can copy Text once and cut them
	// from the copy. Set with Fields.
	Text   string
	Line   int64  // 1-based line where the row starts (embedded newlines count)
	Offset int64  // 0-based byte offset of the row's first byte (a leading UTF-8 BOM counts as 3 bytes)
	Raw    []byte // the row's text without its line ending, truncated to MaxRawBytes when Err is set; valid until the next Next
	Size   int64  // the row's full length in bytes without its line ending (> len(Raw) when Raw is truncated)
	Err    error  // non-nil: the row is bad (ragged, quote error, too large); reading continues with the next row
	// BareQuote: a '"' inside an unquoted field (37°36'37.8"N) was read as text, as DuckDB, Python's csv and
	// Polars read it. Strict RFC 4180 readers (encoding/csv) reject such a row.
	BareQuote bool
}

// CSV row-splitter states. They follow the grammar of parseRow so that each row handed to it is exactly one
// record, including the rows it rejects.
const (
	csvFieldStart = iota
	csvUnquoted
	csvQuoted
	csvQuote   // a '"' inside a quoted field: `""`, end of field, or an error
	csvQuoteCR // `"\r`: fine before '\n' (CRLF), an error otherwise
	csvBadLine // after a quote error: the row ends at the end of this line
)

// CSVReader reads a delimited file with a header row (quoted fields, embedded newlines and delimiters, CRLF, BOM).
// The delimiter is sniffed from the header line among , ; \t | (the most frequent outside quotes that also occurs
// equally often in the second row, when there is one).
//
// Rows are first delimited by a quote-aware splitter (in bounded memory: a row longer than MaxRecordBytes is
// skipped and reported with ErrTooLarge) and then split into fields by parseRow, which gives exact Line, Offset and
// Raw for every row, also the bad ones. Blank lines are skipped (but counted), as encoding/csv does.
//
// Values are exactly the bytes sent: a quoted field keeps its CR, LF and CRLF as they are (encoding/csv would turn
// a CRLF inside quotes into LF), and `""` inside quotes is one '"'. A '"' inside an unquoted field is text (the row
// is marked BareQuote), as DuckDB, Python's csv and Polars read it; text after a closing quote (`"x"y`) and a quote
// that never closes are errors (encoding/csv's ErrQuote).
//
// Unlike encoding/csv, a quote error in a row that spans several lines (a stray or unbalanced '"' opens a quoted
// field that swallows the following lines) rejects only the row's first line; reading goes on at the next line, so
// the good rows after one bad quote are still read. Well-formed multi-line quoted fields are unaffected.
type CSVReader struct {
	st     *stream
	opts   Options
	delim  byte
	header []string

	pos  int64 // stream offset of the next byte to examine
	line int64 // line number at pos

	inRow    bool
	state    int
	rowStart int64
	rowLine  int64
	skipping bool
	raw      []byte

	fieldBuf []byte // the current row's field bytes (reused)
	ends     []int  // end of each field in fieldBuf (reused)
	// The rows' field strings and slices are cut from chunks that are filled and then dropped, never reused.
	textChunk []byte
	fieldSlab []string
	// shared: the current row's Text and Fields may share the reader's buffers (NextShared).
	shared       bool
	sharedFields []string
	// resumeAt is the stream offset where reading went on after the last row returned, when that row had a quote
	// error across lines and was cut at its first line (tests compare with encoding/csv from there); else -1.
	resumeAt int64
}

// NewCSVReader sniffs the delimiter and reads the header row. It fails with an error wrapping ErrBadHeader when the
// stream has no header row (empty or blank) or the header row is malformed, and with the read error of r otherwise.
func NewCSVReader(r io.Reader, opts Options) (*CSVReader, error) {
	opts = opts.withDefaults()
	return newCSVReader(newStream(r, opts.bufLimit()), opts)
}

// newCSVReader continues on a stream that is still at its first byte (possibly already peeked into).
func newCSVReader(st *stream, opts Options) (*CSVReader, error) {
	if err := st.peek(); err != nil {
		return nil, err
	}
	c := &CSVReader{st: st, opts: opts, line: 1}
	b := st.buf[:st.end]
	if bytes.HasPrefix(b, utf8BOM) {
		c.pos = int64(len(utf8BOM))
	}
	c.delim = sniffDelimiter(b[c.pos:], st.eof)
	row, err := c.nextRow()
	if err == io.EOF {
		return nil, fmt.Errorf("format: %w: the CSV has no header row", ErrBadHeader)
	}
	if err != nil {
		return nil, err
	}
	if row.Err != nil {
		return nil, fmt.Errorf("format: %w: %w", ErrBadHeader, row.Err)
	}
	c.header = row.Fields
	return c, nil
}

// Header returns the header row's fields.
func (c *CSVReader) Header() []string { return c.header }

// Delimiter returns the sniffed delimiter.
func (c *CSVReader) Delimiter() rune { return rune(c.delim) }

// Next returns the next row. A ragged row (field count != header count), a quote error or a too-large row is
// returned with Err set and reading continues; io.EOF at the end; read errors of the stream are returned as error.
func (c *CSVReader) Next() (CSVRow, error) {
	row, err := c.nextRow()
	if err == nil && row.Err == nil && len(row.Fields) != len(c.header) {
		row.Err = fmt.Errorf("CSV row at line %d has %d fields, the header has %d: %w", row.Line, len(row.Fields), len(c.header), csv.ErrFieldCount)
		c.truncateRaw(&row)
	}
	return row, err
}

// NextShared is Next for a caller that copies what it keeps of a row before the next call: the row's Text and
// Fields (like its Raw) are valid only until then, as they may share the reader's buffers. Rows read this way
// cost no copy of their text and no new field slice.
func (c *CSVReader) NextShared() (CSVRow, error) {
	c.shared = true
	row, err := c.Next()
	c.shared = false
	return row, err
}

func (c *CSVReader) truncateRaw(row *CSVRow) {
	if len(row.Raw) > c.opts.MaxRawBytes {
		row.Raw = row.Raw[:c.opts.MaxRawBytes]
	}
}

// nextRow splits off the next non-blank row and parses it.
func (c *CSVReader) nextRow() (CSVRow, error) {
	c.resumeAt = -1
	for {
		b := c.st.buf[:c.st.end]
		base := c.st.base
		i := int(c.pos - base)
		if !c.inRow && i < len(b) {
			c.inRow = true
			c.rowStart, c.rowLine, c.state, c.skipping = c.pos, c.line, csvFieldStart, false
		}
		if c.inRow {
			j, done := c.scanRow(b, i)
			c.pos = base + int64(j)
			if done {
				c.inRow = false
				if row, ok := c.finishRow(c.pos-1, true); ok {
					return row, nil
				}
				continue
			}
		}
		keep := c.pos
		if c.inRow && !c.skipping {
			if c.pos-c.rowStart > int64(c.opts.MaxRecordBytes) {
				from := int(c.rowStart - base)
				n := int(min(int64(c.opts.MaxRawBytes), c.pos-c.rowStart))
				c.raw = append(c.raw[:0], b[from:from+n]...)
				c.skipping = true
			} else {
				keep = c.rowStart
			}
		}
		if !c.st.fill(keep) {
			if c.st.err != nil {
				return CSVRow{}, c.st.err
			}
			if c.inRow {
				c.inRow = false
				if row, ok := c.finishRow(c.pos, false); ok {
					return row, nil
				}
			}
			return CSVRow{}, io.EOF
		}
	}
}

// scanRow advances the row splitter over b from i; done means the row ended with the '\n' before the returned
// index.
func (c *CSVReader) scanRow(b []byte, i int) (int, bool) {
	d, st, n := c.delim, c.state, len(b)
	nl := -1 // index of the first '\n' at or after i in b (len(b): none), -1 until looked for
	if st == csvFieldStart || st == csvUnquoted {
		if j, ok := c.unquotedRest(b, i, &nl); ok {
			return j, true
		}
	}
	for i < n {
		ch := b[i]
		switch st {
		case csvFieldStart:
			if ch == '"' {
				st = csvQuoted
				i++
				continue
			}
			st = csvUnquoted
			continue // the byte belongs to an unquoted field
		case csvUnquoted:
			switch ch {
			case d:
				st = csvFieldStart
			case '\n':
				c.line++
				c.state = csvFieldStart
				return i + 1, true
			}
		case csvQuoted:
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				c.line += int64(bytes.Count(b[i:], []byte{'\n'}))
				i = n
				continue
			}
			c.line += int64(bytes.Count(b[i:i+j], []byte{'\n'}))
			i += j + 1
			st = csvQuote
			continue
		case csvQuote:
			switch ch {
			case '"':
				st = csvQuoted
			case d:
				st = csvFieldStart
				if j, ok := c.unquotedRest(b, i+1, &nl); ok {
					return j, true
				}
			case '\n':
				c.line++
				c.state = csvFieldStart
				return i + 1, true
			case '\r':
				st = csvQuoteCR
			default:
				st = csvBadLine
			}
		case csvQuoteCR:
			if ch == '\n' {
				c.line++
				c.state = csvFieldStart
				return i + 1, true
			}
			st = csvBadLine
		case csvBadLine:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				i = n
				continue
			}
			c.line++
			c.state = csvFieldStart
			return i + j + 1, true
		}
		i++
	}
	c.state = st
	return i, false
}

// csvFastPaths enables the splitter's and parser's paths for text without quotes (tests turn them off to compare
// with the byte-by-byte paths).
var csvFastPaths = true

// unquotedRest ends the row at the next '\n' of b from i when there is no '"' before it: from the start of a field
// or inside an unquoted one, such text holds only unquoted fields and delimiters, which is what the byte-by-byte
// splitter would find too, at the cost of two vectorized scans. It reports false (nothing done) otherwise. nl caches
// the index of the first '\n' at or after the scan's start (-1: not looked for yet; len(b): none), so a row of many
// quoted fields looks for its line end once.
func (c *CSVReader) unquotedRest(b []byte, i int, nl *int) (int, bool) {
	if !csvFastPaths {
		return 0, false
	}
	if *nl < i {
		*nl = len(b)
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			*nl = i + j
		}
	}
	if *nl == len(b) || bytes.IndexByte(b[i:*nl], '"') >= 0 {
		return 0, false
	}
	c.line++
	c.state = csvFieldStart
	return *nl + 1, true
}

// finishRow parses the row from rowStart to end (exclusive; the '\n' at end is part of the row when nl). It
// reports false for a blank row, which encoding/csv skips.
func (c *CSVReader) finishRow(end int64, nl bool) (CSVRow, bool) {
	size := end - c.rowStart
	row := CSVRow{Line: c.rowLine, Offset: c.rowStart}
	if c.skipping {
		row.Raw, row.Size = c.raw, size
		if k := end - 1 - c.st.base; k >= 0 && k < int64(c.st.end) && c.st.buf[k] == '\r' {
			row.Size--
		}
		row.Err = fmt.Errorf("%w: CSV row at line %d has %d bytes, more than the %d-byte limit", ErrTooLarge, c.rowLine, size, c.opts.MaxRecordBytes)
		return row, true
	}
	from := int(c.rowStart - c.st.base)
	content := c.st.buf[from : from+int(size)]
	text := bytes.TrimSuffix(content, []byte{'\r'})
	if len(text) == 0 {
		return row, false
	}
	row.Raw, row.Size = text, int64(len(text))
	if size > int64(c.opts.MaxRecordBytes) {
		row.Err = fmt.Errorf("%w: CSV row at line %d has %d bytes, more than the %d-byte limit", ErrTooLarge, c.rowLine, size, c.opts.MaxRecordBytes)
		c.truncateRaw(&row)
		return row, true
	}
	fields, all, bare, err := c.parseRow(text)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if nl := bytes.IndexByte(text, '\n'); nl >= 0 {
				// A quote error in a row that spans lines: most likely one stray or unbalanced quote, which would make
				// the rows after it part of this one. Only the first line is rejected; reading goes on at the next.
				err = fmt.Errorf("CSV row at line %d: a quoted field is not closed properly (%w); the row is taken to end at its line, reading goes on at line %d",
					c.rowLine, err, c.rowLine+1)
				row.Raw = bytes.TrimSuffix(text[:nl], []byte{'\r'})
				row.Size = int64(len(row.Raw))
				c.pos = c.rowStart + int64(nl) + 1
				c.line = c.rowLine + 1
				c.resumeAt = c.pos
			}
		}
		row.Err = err
		c.truncateRaw(&row)
		return row, true
	}
	row.Fields, row.Text, row.BareQuote = fields, all, bare
	return row, true
}

// parseRow splits one row's text (without its line ending) into fields. A quoted field is its bytes between the
// quotes with `""` read as '"' (CR and LF kept as they are); an unquoted field runs to the next delimiter, a '"' in
// it being text (bare reports one). Text after a closing quote, or a quote that never closes, is a ParseError
// wrapping csv.ErrQuote, with the row's line and the error's line and column (1-based, in bytes).
//
// It also returns all, a string holding every field as a substring, in order.
func (c *CSVReader) parseRow(text []byte) (fields []string, all string, bare bool, err error) {
	d := c.delim
	if csvFastPaths && bytes.IndexByte(text, '"') < 0 {
		// No quotes: the fields are the text between delimiters, cut from one copy of the text.
		all = c.rowText(text)
		ends := appendDelims(c.ends[:0], text, d)
		ends = append(ends, len(all))
		c.ends = ends
		fields = c.slabFields(len(ends))
		start := 0
		for k, e := range ends {
			fields[k] = all[start:e]
			start = e + 1
		}
		return fields, all, false, nil
	}
	buf, ends := c.fieldBuf[:0], c.ends[:0]
	defer func() { c.fieldBuf, c.ends = buf, ends }()
	i := 0
	for {
		if i < len(text) && text[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(text[i:], '"')
				if j < 0 {
					return nil, "", false, c.quoteError(text, len(text))
				}
				buf = append(buf, text[i:i+j]...)
				i += j + 1
				if i < len(text) && text[i] == '"' { // "" is one quote
					buf = append(buf, '"')
					i++
					continue
				}
				break
			}
			ends = append(ends, len(buf))
			if i == len(text) {
				break
			}
			if text[i] != d {
				return nil, "", false, c.quoteError(text, i)
			}
			i++ // a delimiter that ends the row is followed by one more, empty field
			continue
		}
		end := len(text)
		j := bytes.IndexByte(text[i:], d)
		if j >= 0 {
			end = i + j
		}
		if bytes.IndexByte(text[i:end], '"') >= 0 {
			bare = true
		}
		buf = append(buf, text[i:end]...)
		ends = append(ends, len(buf))
		if j < 0 {
			break
		}
		i = end + 1
	}
	all = c.rowText(buf)
	fields = c.slabFields(len(ends))
	start := 0
	for k, e := range ends {
		fields[k] = all[start:e]
		start = e
	}
	return fields, all, bare, nil
}

// appendDelims appends the index of every d in b to ends, 8 bytes at a time: most fields are short, and a call
// to find each delimiter costs more than the field.
func appendDelims(ends []int, b []byte, d byte) []int {
	const ones, highs = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	pattern := ones * uint64(d)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		// The high bit of each byte of m is set where that byte of b is d (y's byte is zero), and only there.
		y := binary.LittleEndian.Uint64(b[i:]) ^ pattern
		m := ^((y&highs + highs) | y | highs)
		for m != 0 {
			ends = append(ends, i+bits.TrailingZeros64(m)>>3)
			m &= m - 1
		}
	}
	for ; i < len(b); i++ {
		if b[i] == d {
			ends = append(ends, i)
		}
	}
	return ends
}

// slabFields returns a slice of n strings cut from the current field slab (the reader's one slice, reused, for
// NextShared).
func (c *CSVReader) slabFields(n int) []string {
	if c.shared {
		if cap(c.sharedFields) < n {
			c.sharedFields = make([]string, n, max(n, 64))
		}
		return c.sharedFields[:n:n]
	}
	if cap(c.fieldSlab)-len(c.fieldSlab) < n {
		c.fieldSlab = make([]string, 0, max(n, 1024))
	}
	k := len(c.fieldSlab)
	c.fieldSlab = c.fieldSlab[:k+n]
	return c.fieldSlab[k : k+n : k+n]
}

// rowText copies a row's field bytes into the current text chunk and returns
// them as a string. Chunks are only appended to, never rewritten, so the
// strings of earlier rows stay as they are; one allocation serves many rows.
// For NextShared, the string is b itself (the stream's buffer or fieldBuf,
// both left alone until the next row).
func (c *CSVReader) rowText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if c.shared {
		return unsafe.String(&b[0], len(b))
	}
	if cap(c.textChunk)-len(c.textChunk) < len(b) {
		c.textChunk = make([]byte, 0, max(len(b), 32<<10))
	}
	k := len(c.textChunk)
	c.textChunk = append(c.textChunk, b...)
	return unsafe.String(&c.textChunk[k], len(b))
}

// quoteError is the ParseError of a quote error at text[at].
func (c *CSVReader) quoteError(text []byte, at int) error {
	before := text[:at]
	nls := bytes.Count(before, []byte{'\n'})
	col := at - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return &csv.ParseError{StartLine: int(c.rowLine), Line: int(c.rowLine) + nls, Column: col, Err: csv.ErrQuote}
}

// sniffDelimiter picks the candidate that occurs most often outside quotes in the header row and as often in the
// second row (when a complete second row is in the peek); without a consistent one, the most frequent; ',' when the
// header has none.
func sniffDelimiter(b []byte, eof bool) byte {
	header, rest, _ := splitCSVLine(b)
	for len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r') {
		rest = rest[1:]
	}
	second, _, complete := splitCSVLine(rest)
	haveSecond := len(second) > 0 && (complete || eof)
	var hc, sc [len(csvDelims)]int
	countDelims(header, &hc)
	countDelims(second, &sc)
	best := -1
	for k := range csvDelims {
		if hc[k] == 0 {
			continue
		}
		if best < 0 || hc[k] > hc[best] {
			best = k
		}
	}
	if best < 0 {
		return ','
	}
	if haveSecond && sc[best] != hc[best] {
		// Prefer the most frequent candidate that is consistent with the second row.
		alt := -1
		for k := range csvDelims {
			if hc[k] > 0 && sc[k] == hc[k] && (alt < 0 || hc[k] > hc[alt]) {
				alt = k
			}
		}
		if alt >= 0 {
			best = alt
		}
	}
	return csvDelims[best]
}

// splitCSVLine returns the first row of b (quotes toggled on every '"', which is all counting needs), the bytes
// after its '\n', and whether the '\n' was found.
func splitCSVLine(b []byte) (row, rest []byte, complete bool) {
	inQ := false
	for i, c := range b {
		switch {
		case c == '"':
			inQ = !inQ
		case c == '\n' && !inQ:
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

func countDelims(row []byte, counts *[len(csvDelims)]int) {
	inQ := false
	for _, c := range row {
		if c == '"' {
			inQ = !inQ
			continue
		}
		if inQ {
			continue
		}
		for k, d := range csvDelims {
			if c == d {
				counts[k]++
			}
		}
	}
}
