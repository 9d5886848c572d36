// Package format turns the bytes of one exported object into records: it sniffs the compression (gzip, zstd or
// none) and the record shape (NDJSON, concatenated or pretty-printed JSON objects, a JSON array, or CSV) from the
// content, never from a file name, and splits the decompressed stream into records that carry their 1-based line
// and 0-based byte offset in the decompressed object.
//
// The splitter does not validate JSON (the profile parses each record); it only finds value boundaries, in
// bounded memory: a record longer than Options.MaxRecordBytes is skipped and reported, not buffered.
package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Shape is the record layout of a decompressed stream.
type Shape int

// Shapes recognised by NewReader.
const (
	Unknown Shape = iota
	NDJSON
	Concatenated
	Array
	CSV
)

// String returns "unknown", "ndjson", "concatenated", "array" or "csv".
func (s Shape) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case NDJSON:
		return "ndjson"
	case Concatenated:
		return "concatenated"
	case Array:
		return "array"
	case CSV:
		return "csv"
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

// Defaults for zero Options fields.
const (
	DefaultMaxRecordBytes = 16 << 20
	DefaultMaxRawBytes    = 4096
	maxRecordCap          = 1 << 30
)

// Options bound the memory used per record. Zero (or negative) fields take the defaults; MaxRecordBytes is capped
// at 1 GiB. A Reader or CSVReader buffers at most MaxRecordBytes plus one 64 KiB read.
type Options struct {
	MaxRecordBytes int // default 16 MiB: a longer record becomes a Record with Err (ErrTooLarge) and is skipped in bounded memory
	MaxRawBytes    int // default 4096: how much raw text a bad Record keeps in Raw
}

func (o Options) withDefaults() Options {
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	// Beyond 1 GiB a "record" is no longer a record; the cap keeps buffer arithmetic far from overflow.
	o.MaxRecordBytes = min(o.MaxRecordBytes, maxRecordCap)
	if o.MaxRawBytes <= 0 {
		o.MaxRawBytes = DefaultMaxRawBytes
	}
	return o
}

// bufLimit is the most a Reader or CSVReader buffers: one record plus one read.
func (o Options) bufLimit() int { return o.MaxRecordBytes + readSize }

// Record is one JSON record (or one bad region) of the stream.
// A top-level array still open at the end of the stream is reported as a Record with Err ErrUnterminated, Size 0
// and Offset at the end of the stream (the elements before it are ordinary records).
type Record struct {
	Data   []byte // the record's bytes (for a good record: exactly the JSON value, no surrounding whitespace / CR); valid until the next Next call
	Line   int64  // 1-based line number where the record starts
	Offset int64  // 0-based byte offset of the record's first byte in the decompressed stream (a leading UTF-8 BOM counts as 3 bytes)
	Size   int64  // the record's full length in bytes (> len(Data) when truncated)
	Err    error  // non-nil: the region is bad (reason, see errors below); Data then holds at most MaxRawBytes of its raw text
	Taken  bool   // the function given to SetValueEnd found the record's end (it has seen the record whole)
}

// Record-level reasons, wrapped with detail in Record.Err (test with errors.Is).
var (
	// ErrTooLarge: the record is longer than Options.MaxRecordBytes; it was skipped without being buffered.
	ErrTooLarge = errors.New("record too large")
	// ErrUnterminated: a JSON value that is not closed, either at the end of the stream or before a line that
	// starts the next object (see Reader).
	ErrUnterminated = errors.New("unterminated JSON value")
	// ErrGarbage: bytes that are not whitespace between top-level JSON values.
	ErrGarbage = errors.New("garbage between JSON values")
)

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// Reader splits a decompressed stream into JSON records. It sniffs the shape from the first non-whitespace bytes
// (after an optional UTF-8 BOM; peeking at most 64 KiB):
//   - '[' → Array: the elements of the top-level JSON array are the records (further top-level arrays that follow
//     it are read the same way).
//   - '{' → NDJSON when the first value ends on its first line and the next non-blank byte (if any) is on a later
//     line; otherwise Concatenated (one or more, possibly pretty-printed, objects one after another, also
//     `{..}{..}` on one line).
//   - otherwise → CSV if the first line looks like a delimited header, else Unknown.
//
// NDJSON mode splits on '\n' (CR before LF is stripped, blank lines are skipped but counted); it does not validate
// JSON: each non-blank line is one record.
//
// Concatenated and Array modes find value boundaries by tracking {}/[] depth outside strings. A raw newline inside
// a string (invalid JSON) ends the string, so one broken string cannot swallow the rest of the file. When a line
// starts with '{' in the column where the current record started (column 0 for top-level objects) while that record
// is still open, and the JSON grammar does not allow a value there (or the record already contains a broken
// string), the record is reported as ErrUnterminated and a new one starts at that '{'. The grammar check keeps
// valid pretty-printed objects whose nested array elements sit at column 0 intact. Bytes that are not whitespace
// between top-level values form one ErrGarbage record up to the next line starting with '{' (Concatenated) or '['
// (Array, outside arrays) or up to the next ',' or ']' (inside an array). A value still open at the end of the stream
// is ErrUnterminated; so is a top-level array whose ']' is missing (a zero-length record at the end of the stream).
//
// Unknown streams are scanned like Concatenated ones, so objects after a leading garbage region are still found;
// binary data typically yields a single ErrGarbage record. A stream that is empty or only whitespace yields no
// records.
//
// A record longer than MaxRecordBytes is skipped in bounded memory and reported with ErrTooLarge. Next returns
// io.EOF at the end; any other error is a stream read error (e.g. one wrapping ErrTruncated) and the caller must
// fail the whole object. Invalid UTF-8 is passed through.
type Reader struct {
	st       *stream
	opts     Options
	shape    Shape
	started  bool // Next was called: CSV() can no longer take over the stream
	csvTaken bool

	pos         int64 // stream offset of the next byte to examine
	line        int64 // line number at pos
	lineStart   int64 // stream offset of the first byte of the current line
	lineContent bool  // the current line has non-whitespace before pos

	// current record (or bad region)
	inRec     bool // NDJSON: inside a line
	recStart  int64
	recLine   int64
	recCol    int64 // the record's column when it is the first non-blank byte of its line, else -1
	lastNonWs int64 // stream offset of the record's last non-whitespace byte seen so far
	limit     int   // MaxRecordBytes for values, MaxRawBytes for garbage regions
	skipping  bool  // the record outgrew limit: its bytes are no longer buffered, raw holds its start
	raw       []byte

	// structural scanner (Concatenated, Array, Unknown)
	ctx       int
	kind      int // kind of the value in progress
	depth     int
	inStr     bool
	esc       bool     // a backslash in a string was the last byte of the buffer
	broken    bool     // the value contains a string cut by a raw newline
	last      byte     // last non-whitespace byte outside strings in the current value
	stack     []uint64 // bit d set: the container at depth d+1 is an array
	arrayLine int64    // Array: line of the '[' of the open top-level array

	byteScan bool // scan strings a byte at a time, not eight (tests compare the two)

	valueEnd  func(b []byte) int // see SetValueEnd
	valueUndo func()
}

// SetValueEnd lets fn find where each top-level object ends, when the whole
// stream is in memory (NewReaderBytes): fn gets the bytes from the object's
// '{' on (up to MaxRecordBytes of them) and returns the object's length, or 0
// or less to leave it to the reader's own scanner. The loader maps each
// record in the same walk that finds its end, instead of scanning it twice;
// fn must only take an object the scanner would end at the same byte: valid
// JSON. The records Next returns are the same either way (line, offset,
// bytes); those fn took are marked Taken.
//
// In a stream of concatenated objects the reader takes every object fn
// ends. In NDJSON it takes one only when it is its line's whole content
// (spaces aside) and the line is within MaxRecordBytes: otherwise the line
// is the record, as the scanner finds it, and undo (if not nil) is called
// to take back what fn did with the object it ended.
func (r *Reader) SetValueEnd(fn func(b []byte) int, undo func()) {
	r.valueEnd, r.valueUndo = fn, undo
}

// NewReader sniffs the shape of the stream (reading at most 64 KiB ahead) and returns a Reader positioned at the
// first record. The error is non-nil only for read errors of r.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	st := newStream(r, opts.bufLimit())
	if err := st.peek(); err != nil {
		return nil, err
	}
	rd := &Reader{st: st, opts: opts, line: 1}
	b := st.buf[:st.end]
	if bytes.HasPrefix(b, utf8BOM) {
		rd.pos, rd.lineStart = int64(len(utf8BOM)), int64(len(utf8BOM))
	}
	rd.shape = sniffShape(b[rd.pos:])
	return rd, nil
}

// NewReaderBytes is NewReader over an object already in memory: records are
// read from b in place, without copying it into a read buffer (b must not
// change while the Reader is used). The shape is sniffed from the same
// bytes NewReader would look at, so both read an object alike.
func NewReaderBytes(b []byte, opts Options) *Reader {
	opts = opts.withDefaults()
	st := &stream{buf: b, end: len(b), max: len(b), eof: true}
	rd := &Reader{st: st, opts: opts, line: 1}
	if bytes.HasPrefix(b, utf8BOM) {
		rd.pos, rd.lineStart = int64(len(utf8BOM)), int64(len(utf8BOM))
	}
	rd.shape = sniffShape(b[rd.pos:min(len(b), initBufSize)])
	return rd
}

// Sniff is a convenience: Decompress + NewReader. Close the returned Closer when done (it does not close r).
func Sniff(r io.Reader, opts Options) (*Reader, Compression, io.Closer, error) {
	rc, c, err := Decompress(r)
	if err != nil {
		return nil, c, nil, err
	}
	rd, err := NewReader(rc, opts)
	if err != nil {
		rc.Close()
		return nil, c, nil, err
	}
	return rd, c, rc, nil
}

// Shape returns the sniffed shape.
func (r *Reader) Shape() Shape { return r.shape }

// Next returns the next record. Record.Data is valid until the next call. It returns io.EOF at the end of the
// stream; any other error is a read error of the stream and is returned again by later calls.
func (r *Reader) Next() (Record, error) {
	if r.csvTaken {
		return Record{}, errors.New("format: Next called after the stream was handed to CSV()")
	}
	r.started = true
	switch r.shape {
	case NDJSON:
		return r.nextNDJSON()
	case CSV:
		return Record{}, errors.New("format: the stream is CSV; read it with Reader.CSV")
	}
	return r.nextStruct()
}

// CSV returns a CSVReader over the same stream, starting at its first byte (nothing that was peeked is lost). It
// must be called before Next; afterwards the Reader can no longer be used. It is meant for Shape CSV but works
// for any stream.
func (r *Reader) CSV() (*CSVReader, error) {
	if r.started || r.csvTaken {
		return nil, errors.New("format: CSV must be called once, before Next")
	}
	r.csvTaken = true
	return newCSVReader(r.st, r.opts)
}

// sniffShape decides the shape from the peeked bytes (after the BOM).
func sniffShape(b []byte) Shape {
	p := 0
	for p < len(b) && (isSpace(b[p]) || b[p] == '\n') {
		p++
	}
	if p == len(b) {
		return Unknown
	}
	switch b[p] {
	case '[':
		return Array
	case '{':
		return sniffObjectStream(b[p:])
	}
	if looksBinary(b) {
		return Unknown
	}
	if looksCSVHeader(b[p:]) {
		return CSV
	}
	return Unknown
}

// sniffObjectStream tells NDJSON from Concatenated: NDJSON when the first object closes on its first line and
// nothing but whitespace follows it on that line.
func sniffObjectStream(b []byte) Shape {
	depth := 0
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case c == '\n':
				return Concatenated
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				for _, c := range b[i+1:] {
					if c == '\n' {
						return NDJSON
					}
					if !isSpace(c) {
						return Concatenated
					}
				}
				return NDJSON
			}
		case '\n':
			return Concatenated
		}
	}
	// The first line is longer than the peek (or the stream ends inside it): a long NDJSON line.
	return NDJSON
}

// looksBinary reports NUL bytes or more than 10% control bytes (other than tab, CR, LF).
func looksBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, c := range b {
		ctl += int(controlByte[c]) // a table: no branch per byte
	}
	return ctl*10 > len(b)
}

// controlByte is 1 for the control bytes looksBinary counts: below 0x20 but tab, CR and LF, and DEL.
var controlByte = func() (t [256]uint8) {
	for c := range 0x20 {
		if c != '\t' && c != '\r' && c != '\n' {
			t[c] = 1
		}
	}
	t[0x7f] = 1
	return t
}()

// looksCSVHeader reports whether the first line contains a CSV delimiter and only printable text.
func looksCSVHeader(b []byte) bool {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte{'\r'})
	hasDelim := false
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
		if isDelimCandidate(c) {
			hasDelim = true
		}
	}
	return hasDelim
}
