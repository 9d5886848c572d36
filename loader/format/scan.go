package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// Contexts of the structural scanner.
const (
	ctxTop        = iota // between top-level values
	ctxGarbage           // in a garbage region between top-level values
	ctxValue             // in a record value
	ctxArrExpect         // Array: inside a top-level array, before an element
	ctxArrAfter          // Array: inside a top-level array, after an element
	ctxArrGarbage        // Array: garbage inside a top-level array, up to the next ',' or ']'
)

// Kinds of record values.
const (
	kindContainer = iota // object or array: ends when depth returns to 0
	kindString           // a string array element
	kindLiteral          // a number / true / false / null array element: ends at , ] or whitespace
)

// strPlain marks the bytes that need no attention inside a JSON string.
var strPlain = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	t['"'], t['\\'], t['\n'] = false, false, false
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// strStop flags (bit 7 of each byte) the bytes of x that end a run of plain
// string bytes: '"', '\\' and '\n'. The lowest flag is exact, which is all
// the callers use.
func strStop(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	n := x ^ (lsb * '\n')
	return (((q - lsb) &^ q) | ((s - lsb) &^ s) | ((n - lsb) &^ n)) & msb
}

// startRecord begins a record (or bad region) at buffer index i.
func (r *Reader) startRecord(base int64, i int, limit int) {
	at := base + int64(i)
	r.recStart, r.recLine, r.lastNonWs = at, r.line, at
	r.recCol = -1
	if !r.lineContent {
		r.recCol = at - r.lineStart
	}
	r.lineContent = true
	r.limit = limit
	r.skipping = false
}

// startSkip stops buffering the current record: its first MaxRawBytes are kept in raw, the rest is only scanned.
func (r *Reader) startSkip() {
	from := int(r.recStart - r.st.base)
	n := int(min(int64(r.opts.MaxRawBytes), r.pos-r.recStart))
	r.raw = append(r.raw[:0], r.st.buf[from:from+n]...)
	r.skipping = true
}

// emit returns the record that started at recStart and ends (exclusive) at stream offset end. With a nil err the
// record is good unless it is too large.
func (r *Reader) emit(end int64, err error) Record {
	size := end - r.recStart
	if err == nil && (r.skipping || size > int64(r.limit)) {
		if size > int64(r.limit) {
			err = fmt.Errorf("%w: record of %d bytes at line %d exceeds the %d-byte limit", ErrTooLarge, size, r.recLine, r.limit)
		} else {
			err = fmt.Errorf("%w: record at line %d with its trailing whitespace exceeds the %d-byte limit", ErrTooLarge, r.recLine, r.limit)
		}
	}
	rec := Record{Line: r.recLine, Offset: r.recStart, Size: size, Err: err}
	if r.skipping {
		rec.Data = r.raw[:min(int64(len(r.raw)), size)]
	} else {
		from := int(r.recStart - r.st.base)
		rec.Data = r.st.buf[from : from+int(size)]
	}
	if err != nil && len(rec.Data) > r.opts.MaxRawBytes {
		rec.Data = rec.Data[:r.opts.MaxRawBytes]
	}
	return rec
}

// keepFrom decides what the buffer must keep before a refill and switches an overlong record to skipping.
func (r *Reader) keepFrom(inRecord bool) int64 {
	if !inRecord || r.skipping {
		return r.pos
	}
	if r.pos-r.recStart > int64(r.limit) {
		r.startSkip()
		return r.pos
	}
	return r.recStart
}

// nextNDJSON returns the next non-blank line.
func (r *Reader) nextNDJSON() (Record, error) {
	for {
		b := r.st.buf[:r.st.end]
		base := r.st.base
		i := int(r.pos - base)
		if !r.inRec {
			for ; i < len(b); i++ {
				if c := b[i]; c == '\n' {
					r.line++
				} else if !isSpace(c) {
					break
				}
			}
			r.pos = base + int64(i)
			if i < len(b) && b[i] == '{' && r.valueEnd != nil && r.st.eof {
				if rec, ok := r.takeLine(b, base, i); ok {
					return rec, nil
				}
			}
			if i < len(b) {
				r.inRec = true
				r.recStart, r.recLine, r.lastNonWs = r.pos, r.line, r.pos
				r.limit, r.skipping = r.opts.MaxRecordBytes, false
				i++
				r.pos++
			}
		}
		if r.inRec && i < len(b) {
			if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
				nl := i + j
				r.trackLastNonWs(b, base, i, nl)
				r.pos = base + int64(nl) + 1
				r.line++
				r.inRec = false
				return r.emit(r.lastNonWs+1, nil), nil
			}
			r.trackLastNonWs(b, base, i, len(b))
			r.pos = base + int64(len(b))
		}
		if !r.st.fill(r.keepFrom(r.inRec)) {
			if r.st.err != nil {
				return Record{}, r.st.err
			}
			if r.inRec {
				r.inRec = false
				return r.emit(r.lastNonWs+1, nil), nil
			}
			return Record{}, io.EOF
		}
	}
}

// takeLine offers the NDJSON line whose first non-space byte is the '{' at
// b[i] (the whole input is in b) to valueEnd, and returns it as the next
// record, marked Taken, when the object valueEnd ends is the line's whole
// content and the line is within MaxRecordBytes — when the scanner would
// find exactly that record, with no error. Otherwise it calls valueUndo and
// leaves the line to the scanner.
func (r *Reader) takeLine(b []byte, base int64, i int) (Record, bool) {
	limit := r.opts.MaxRecordBytes
	end := r.valueEnd(b[i:min(len(b), i+limit)])
	if end <= 0 {
		return Record{}, false
	}
	j := i + end
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	// A valid object holds a newline only between its tokens: the lines
	// after the first would be records of their own.
	if (j < len(b) && b[j] != '\n') || j-i > limit || bytes.IndexByte(b[i:i+end], '\n') >= 0 {
		if r.valueUndo != nil {
			r.valueUndo()
		}
		return Record{}, false
	}
	r.recStart, r.recLine, r.lastNonWs = base+int64(i), r.line, base+int64(i+end-1)
	r.limit, r.skipping = limit, false
	r.pos = base + int64(j)
	if j < len(b) {
		r.pos++
		r.line++
	}
	rec := r.emit(r.lastNonWs+1, nil)
	rec.Taken = true
	return rec, true
}

// trackLastNonWs records the last non-whitespace byte of b[from:to] (a stretch without '\n') in lastNonWs.
func (r *Reader) trackLastNonWs(b []byte, base int64, from, to int) {
	if k := lastNonSpace(b[from:to]); k >= 0 {
		r.lastNonWs = base + int64(from+k)
	}
}

// nextStruct returns the next record in Concatenated, Array and Unknown modes.
func (r *Reader) nextStruct() (Record, error) {
	for {
		if rec, ok := r.scan(); ok {
			return rec, nil
		}
		inRecord := r.ctx == ctxValue || r.ctx == ctxGarbage || r.ctx == ctxArrGarbage
		if !r.st.fill(r.keepFrom(inRecord)) {
			if r.st.err != nil {
				return Record{}, r.st.err
			}
			if rec, ok := r.finish(); ok {
				return rec, nil
			}
			return Record{}, io.EOF
		}
	}
}

// scan runs the state machine over the buffered bytes until a record is complete (true) or the buffer is
// exhausted (false, with pos at the end of the buffer).
func (r *Reader) scan() (Record, bool) {
	b := r.st.buf[:r.st.end]
	base := r.st.base
	for r.pos-base < int64(len(b)) {
		var rec Record
		var ok bool
		switch r.ctx {
		case ctxTop:
			rec, ok = r.scanTop(b, base)
		case ctxGarbage:
			rec, ok = r.scanGarbage(b, base)
		case ctxValue:
			if r.kind == kindLiteral {
				rec, ok = r.scanLiteral(b, base)
			} else {
				rec, ok = r.scanValue(b, base)
			}
		case ctxArrExpect:
			r.scanArrExpect(b, base)
		case ctxArrAfter:
			r.scanArrAfter(b, base)
		case ctxArrGarbage:
			rec, ok = r.scanArrGarbage(b, base)
		}
		if ok {
			return rec, true
		}
	}
	return Record{}, false
}

func (r *Reader) newline(base int64, i int) {
	r.line++
	r.lineStart = base + int64(i) + 1
	r.lineContent = false
}

// valueAfterRecord is the context after a complete (or abandoned) value.
func (r *Reader) valueAfterRecord() int {
	if r.shape == Array {
		return ctxArrAfter
	}
	return ctxTop
}

func (r *Reader) startValue(b []byte, base int64, i int, kind int) {
	r.startRecord(base, i, r.opts.MaxRecordBytes)
	r.ctx, r.kind = ctxValue, kind
	r.depth, r.inStr, r.esc, r.broken, r.last = 0, false, false, false, b[i]
	switch kind {
	case kindContainer:
		r.push(0, b[i] == '[')
		r.depth = 1
	case kindString:
		r.inStr = true
	}
	r.pos = base + int64(i) + 1
}

func (r *Reader) startGarbage(base int64, i int, ctx int) {
	r.startRecord(base, i, r.opts.MaxRawBytes)
	r.ctx = ctx
	r.pos = base + int64(i) + 1
}

func (r *Reader) scanTop(b []byte, base int64) (Record, bool) {
	for i := int(r.pos - base); i < len(b); i++ {
		c := b[i]
		if isSpace(c) {
			continue
		}
		if c == '\n' {
			r.newline(base, i)
			continue
		}
		switch {
		case r.shape == Array && c == '[':
			r.arrayLine = r.line
			r.lineContent = true
			r.ctx = ctxArrExpect
			r.pos = base + int64(i) + 1
		case r.shape != Array && c == '{':
			if r.valueEnd != nil && r.st.eof {
				if rec, ok := r.takeValue(b, base, i); ok {
					return rec, true
				}
			}
			r.startValue(b, base, i, kindContainer)
		default:
			r.startGarbage(base, i, ctxGarbage)
		}
		return Record{}, false
	}
	r.pos = base + int64(len(b))
	return Record{}, false
}

// takeValue offers the top-level object starting at b[i] to valueEnd (the
// whole input is in b) and, when valueEnd takes it, returns it as the next
// record, with the reader's state as scanValue leaves it after an object.
// valueEnd sees at most MaxRecordBytes, so a longer object is left to the
// scanner (which reports it).
func (r *Reader) takeValue(b []byte, base int64, i int) (Record, bool) {
	end := r.valueEnd(b[i:min(len(b), i+r.opts.MaxRecordBytes)])
	if end <= 0 {
		return Record{}, false
	}
	r.startRecord(base, i, r.opts.MaxRecordBytes)
	v := b[i : i+end]
	if k := bytes.Count(v, newline); k > 0 {
		r.line += int64(k)
		r.lineStart = base + int64(i+bytes.LastIndexByte(v, '\n')) + 1
	}
	r.lineContent = true
	r.lastNonWs = base + int64(i+end-1)
	r.pos = base + int64(i+end)
	r.ctx = r.valueAfterRecord()
	rec := r.emit(r.pos, nil)
	rec.Taken = true
	return rec, true
}

var newline = []byte{'\n'}

// scanGarbage extends a top-level garbage region up to the next line that starts with the opening byte of a
// top-level value.
func (r *Reader) scanGarbage(b []byte, base int64) (Record, bool) {
	open := byte('{')
	if r.shape == Array {
		open = '['
	}
	i := int(r.pos - base)
	for i < len(b) {
		if base+int64(i) == r.lineStart && b[i] == open {
			r.pos = base + int64(i)
			r.ctx = ctxTop
			return r.garbage(), true
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			r.trackLastNonWs(b, base, i, len(b))
			break
		}
		r.trackLastNonWs(b, base, i, i+j)
		r.newline(base, i+j)
		i += j + 1
	}
	r.pos = base + int64(len(b))
	return Record{}, false
}

func (r *Reader) garbage() Record {
	size := r.lastNonWs + 1 - r.recStart
	return r.emit(r.lastNonWs+1, fmt.Errorf("%w: %d bytes of non-JSON text at line %d", ErrGarbage, size, r.recLine))
}

func (r *Reader) scanArrExpect(b []byte, base int64) {
	for i := int(r.pos - base); i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\r':
			continue
		case '\n':
			r.newline(base, i)
			continue
		case ',': // an empty element ([1,,2] or [,1]): lenient, nothing is lost
			r.lineContent = true
			continue
		case ']':
			r.lineContent = true
			r.ctx = ctxTop
			r.pos = base + int64(i) + 1
		case '{', '[':
			r.startValue(b, base, i, kindContainer)
		case '"':
			r.startValue(b, base, i, kindString)
		default:
			r.startValue(b, base, i, kindLiteral)
		}
		return
	}
	r.pos = base + int64(len(b))
}

func (r *Reader) scanArrAfter(b []byte, base int64) {
	for i := int(r.pos - base); i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\r':
			continue
		case '\n':
			r.newline(base, i)
			continue
		case ',':
			r.lineContent = true
			r.ctx = ctxArrExpect
			r.pos = base + int64(i) + 1
		case ']':
			r.lineContent = true
			r.ctx = ctxTop
			r.pos = base + int64(i) + 1
		case '{': // a missing comma between objects: lenient, the object is still a record
			r.ctx = ctxArrExpect
			r.pos = base + int64(i)
		default:
			r.startGarbage(base, i, ctxArrGarbage)
		}
		return
	}
	r.pos = base + int64(len(b))
}

func (r *Reader) scanArrGarbage(b []byte, base int64) (Record, bool) {
	for i := int(r.pos - base); i < len(b); i++ {
		switch c := b[i]; c {
		case ',', ']':
			r.pos = base + int64(i)
			r.ctx = ctxArrAfter
			return r.garbage(), true
		case '\n':
			r.newline(base, i)
		case ' ', '\t', '\r':
		default:
			r.lastNonWs = base + int64(i)
		}
	}
	r.pos = base + int64(len(b))
	return Record{}, false
}

func (r *Reader) scanLiteral(b []byte, base int64) (Record, bool) {
	for i := int(r.pos - base); i < len(b); i++ {
		switch b[i] {
		case ',', ']', ' ', '\t', '\r', '\n':
			r.pos = base + int64(i)
			r.ctx = ctxArrAfter
			return r.emit(r.pos, nil), true
		}
	}
	r.pos = base + int64(len(b))
	return Record{}, false
}

func (r *Reader) push(depth int, isArray bool) {
	w := depth >> 6
	for w >= len(r.stack) {
		r.stack = append(r.stack, 0)
	}
	if isArray {
		r.stack[w] |= 1 << (depth & 63)
	} else {
		r.stack[w] &^= 1 << (depth & 63)
	}
}

// valueExpected reports whether the JSON grammar allows a value after the byte last at the given depth.
func (r *Reader) valueExpected(last byte, depth int) bool {
	switch last {
	case ':', '[':
		return true
	case ',':
		d := depth - 1
		return r.stack[d>>6]&(1<<(d&63)) != 0
	}
	return false
}

// scanValue scans an object/array or string value. It is the hot loop of Concatenated and Array modes: state lives
// in locals, strings are skipped with a table lookup per byte.
func (r *Reader) scanValue(b []byte, base int64) (Record, bool) {
	i := int(r.pos - base)
	n := len(b)
	if r.esc {
		r.esc = false
		if b[i] != '\n' { // an escaped raw newline is still a raw newline
			i++
		}
	}
	depth, inStr, last, lc := r.depth, r.inStr, r.last, r.lineContent
	lnw := int(r.lastNonWs - base) // may be negative while skipping
	for i < n {
		if inStr {
			if !r.byteScan {
				// Eight bytes at a time up to the first '"', '\\' or '\n'.
				for i+8 <= n {
					if m := strStop(binary.LittleEndian.Uint64(b[i:])); m != 0 {
						i += bits.TrailingZeros64(m) >> 3
						break
					}
					i += 8
				}
			}
			for i < n && strPlain[b[i]] {
				i++
			}
			if i == n {
				break
			}
			switch b[i] {
			case '"':
				inStr, last, lnw = false, '"', i
				i++
				if depth == 0 { // a string array element
					r.saveValue(base, i, depth, inStr, last, lc, lnw)
					r.ctx = ctxArrAfter
					return r.emit(base+int64(i), nil), true
				}
			case '\\':
				if i+1 == n {
					r.esc = true
					i++
				} else if b[i+1] != '\n' {
					i += 2
				} else {
					i++
				}
			default: // a raw newline inside a string: invalid JSON, end the string here
				inStr = false
				r.broken = true
				if k := lastNonSpace(b[:i]); k >= 0 && k > lnw {
					lnw = k
				}
				r.line++
				r.lineStart = base + int64(i) + 1
				lc = false
				i++
				if depth == 0 {
					r.saveValue(base, i, depth, inStr, last, lc, lnw)
					r.ctx = ctxArrAfter
					return r.emit(r.lastNonWs+1, fmt.Errorf("%w: string starting at line %d is not closed on its line", ErrUnterminated, r.recLine)), true
				}
			}
			continue
		}
		switch c := b[i]; c {
		case ' ', '\t', '\r':
		case '\n':
			r.line++
			r.lineStart = base + int64(i) + 1
			lc = false
		case '"':
			inStr, lc, lnw = true, true, i
		case '{', '[':
			if c == '{' && !lc && r.recCol >= 0 && base+int64(i)-r.lineStart == r.recCol &&
				(r.broken || !r.valueExpected(last, depth)) {
				// A line starting a new object where the open one cannot continue: the open one is broken.
				r.saveValue(base, i, depth, inStr, last, lc, lnw)
				if r.shape == Array {
					r.ctx = ctxArrExpect
				} else {
					r.ctx = ctxTop
				}
				return r.emit(r.lastNonWs+1, fmt.Errorf("%w: value starting at line %d is not closed before the object starting at line %d",
					ErrUnterminated, r.recLine, r.line)), true
			}
			r.push(depth, c == '[')
			depth++
			last, lnw, lc = c, i, true
		case '}', ']':
			depth--
			last, lnw, lc = c, i, true
			if depth == 0 {
				i++
				r.saveValue(base, i, depth, inStr, last, lc, lnw)
				r.ctx = r.valueAfterRecord()
				return r.emit(base+int64(i), nil), true
			}
		default:
			last, lnw, lc = c, i, true
		}
		i++
	}
	r.saveValue(base, n, depth, inStr, last, lc, lnw)
	return Record{}, false
}

// saveValue writes scanValue's locals back (a method rather than a closure keeps them in registers).
func (r *Reader) saveValue(base int64, at, depth int, inStr bool, last byte, lc bool, lnw int) {
	r.depth, r.inStr, r.last, r.lineContent = depth, inStr, last, lc
	r.lastNonWs = base + int64(lnw)
	r.pos = base + int64(at)
}

// finish handles the end of the stream in the structural modes: it reports what is still open.
func (r *Reader) finish() (Record, bool) {
	eof := r.st.base + int64(r.st.end)
	switch r.ctx {
	case ctxGarbage:
		r.ctx = ctxTop
		return r.garbage(), true
	case ctxArrGarbage:
		r.ctx = ctxArrAfter
		return r.garbage(), true
	case ctxValue:
		if r.kind == kindLiteral {
			r.ctx = ctxArrAfter
			return r.emit(eof, nil), true
		}
		what := "object"
		if r.shape == Array {
			what = "array element"
		}
		r.ctx = ctxTop
		return r.emit(r.lastNonWs+1, fmt.Errorf("%w: %s starting at line %d is still open at end of stream", ErrUnterminated, what, r.recLine)), true
	case ctxArrExpect, ctxArrAfter:
		r.ctx = ctxTop
		r.recStart, r.recLine, r.skipping, r.limit = eof, r.line, false, r.opts.MaxRecordBytes
		return r.emit(eof, fmt.Errorf("%w: top-level array starting at line %d is not closed at end of stream", ErrUnterminated, r.arrayLine)), true
	}
	return Record{}, false
}
