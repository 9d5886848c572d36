package schema

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
)

// MaxDepth is the deepest nesting of arrays and objects Validate accepts.
// It matches encoding/json's limit.
const MaxDepth = 10000

// SyntaxError describes invalid JSON. Its Error text reads
// "invalid JSON at byte 17: unexpected 'x' in object".
type SyntaxError struct {
	Offset int    // 0-based byte offset of the offending byte (len(input) at an unexpected end)
	Msg    string // the problem
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func synErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// describe renders a byte for an error message.
func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// Validate reports whether b is exactly one valid JSON value (RFC 8259: no
// trailing commas, no NaN, no leading zeros, proper escapes including the
// \u syntax of lone surrogates, which RFC 8259 allows) with valid UTF-8 in
// strings, surrounded only by JSON whitespace. The error is a *SyntaxError
// naming the byte offset and the problem. Nesting deeper than MaxDepth is an
// error; nesting is tracked iteratively, so no input can exhaust the stack.
func Validate(b []byte) error {
	i := skipWS(b, 0)
	if i >= len(b) {
		if len(b) == 0 {
			return synErr(0, "empty input")
		}
		return synErr(i, "unexpected end of input (only whitespace)")
	}
	end, err := validValue(b, i)
	if err != nil {
		return err
	}
	if end = skipWS(b, end); end < len(b) {
		return synErr(end, "unexpected %s after top-level value", describe(b[end]))
	}
	return nil
}

// isWS is JSON whitespace: space, tab, line feed, carriage return.
var isWS = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS[b[i]] {
		i++
	}
	return i
}

// validValue validates the single value starting at b[i] (which must not be
// whitespace) and returns the offset just after it.
func validValue(b []byte, i int) (int, error) {
	return validValueMax(b, i, MaxDepth)
}

// validValueMax is validValue for a value that may nest at most maxDepth
// levels (less than MaxDepth when it sits inside containers already).
func validValueMax(b []byte, i, maxDepth int) (int, error) {
	switch c := b[i]; c {
	case '{', '[':
		return validContainer(b, i, maxDepth)
	case '"':
		return scanString(b, i+1)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return scanNumber(b, i)
		}
		return 0, synErr(i, "unexpected %s, want a JSON value", describe(c))
	}
}

// validContainer validates the array or object starting at b[i]. Open
// containers are kept in a bit stack (1 = object, 0 = array): the first 256
// levels live in a fixed array on the goroutine stack, deeper documents
// grow it on the heap up to maxDepth.
func validContainer(b []byte, i, maxDepth int) (int, error) {
	var small [4]uint64
	stack := small[:]
	depth := 0
	n := len(b)
	var err error
	for {
		// A value starts at b[i], or b[i] is out of range.
		if i >= n {
			return 0, synErr(n, "unexpected end of input in %s", where(stack, depth))
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth >= maxDepth {
				return 0, synErr(i, "nesting deeper than %d", MaxDepth)
			}
			if depth>>6 >= len(stack) {
				stack = append(stack, make([]uint64, len(stack))...)
			}
			w, bit := depth>>6, uint64(1)<<(depth&63)
			depth++
			i = skipWS(b, i+1)
			if c == '{' {
				stack[w] |= bit
				if i < n && b[i] == '}' {
					i++
					depth--
					break
				}
				if i, err = validKey(b, i); err != nil {
					return 0, err
				}
			} else {
				stack[w] &^= bit
				if i < n && b[i] == ']' {
					i++
					depth--
					break
				}
			}
			continue
		case '"':
			if i, err = scanString(b, i+1); err != nil {
				return 0, err
			}
		case 't':
			if i, err = scanLiteral(b, i, "true"); err != nil {
				return 0, err
			}
		case 'f':
			if i, err = scanLiteral(b, i, "false"); err != nil {
				return 0, err
			}
		case 'n':
			if i, err = scanLiteral(b, i, "null"); err != nil {
				return 0, err
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return 0, synErr(i, "unexpected %s in %s, want a value", describe(c), where(stack, depth))
			}
			if i, err = scanNumber(b, i); err != nil {
				return 0, err
			}
		}
		// After a value: close containers until one continues with ','.
	after:
		for {
			if depth == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= n {
				return 0, synErr(n, "unexpected end of input in %s", where(stack, depth))
			}
			obj := stack[(depth-1)>>6]>>((depth-1)&63)&1 == 1
			switch c := b[i]; {
			case c == ',':
				i = skipWS(b, i+1)
				if obj {
					if i, err = validKey(b, i); err != nil {
						return 0, err
					}
				}
				break after
			case obj && c == '}', !obj && c == ']':
				i++
				depth--
			case obj:
				return 0, synErr(i, "unexpected %s in object, want ',' or '}'", describe(c))
			default:
				return 0, synErr(i, "unexpected %s in array, want ',' or ']'", describe(c))
			}
		}
	}
}

func where(stack []uint64, depth int) string {
	if depth == 0 {
		return "top-level value"
	}
	if stack[(depth-1)>>6]>>((depth-1)&63)&1 == 1 {
		return "object"
	}
	return "array"
}

// validKey validates `"key" :` at b[i] and returns the offset of the value
// that follows (after whitespace).
func validKey(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, synErr(i, "unexpected end of input in object, want a string key")
	}
	if b[i] != '"' {
		return 0, synErr(i, "unexpected %s in object, want a string key", describe(b[i]))
	}
	i, err := scanString(b, i+1)
	if err != nil {
		return 0, err
	}
	if i, err = colon(b, i); err != nil {
		return 0, err
	}
	return skipWS(b, i), nil
}

// colon steps over the whitespace and the ':' that follow an object's key
// ending before b[i], and returns the index after the ':'. The walkers
// step over a ':' right after the key themselves and call it otherwise.
func colon(b []byte, i int) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, synErr(i, "unexpected end of input in object, want ':'")
	}
	if b[i] != ':' {
		return 0, synErr(i, "unexpected %s in object, want ':' after key", describe(b[i]))
	}
	return i + 1, nil
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// stringSpecial flags (in bit 7 of each byte) the bytes of x that a string
// scan must look at: '"', '\\', control characters and non-ASCII bytes. The
// lowest flagged byte is always exact: below it every byte is in
// 0x20–0x7f and neither '"' nor '\\', so no subtraction borrows there, and
// none of the four terms sets bit 7 for such a byte (x-1 of a non-zero
// byte below 0x80, x-0x20 of a byte at least 0x20, x itself); a flagged
// byte sets it in one of them. Borrows only propagate upwards.
func stringSpecial(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((q - lsb) | (s - lsb) | (x - lsb*0x20) | x) & msb
}

// skipPlain returns the offset of the first byte at or after b[i] that
// stringSpecial flags, or the first offset with fewer than 8 bytes left
// before it stops looking.
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := stringSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// scanString validates a string whose opening quote is at b[i-1] and returns
// the offset just after the closing quote. A string of plain bytes (the
// common case) is stepped over a word at a time, inline.
func scanString(b []byte, i int) (int, error) {
	j := skipPlain(b, i)
	if j < len(b) && b[j] == '"' {
		return j + 1, nil
	}
	end, _, err := scanStringFrom(b, i-1, j)
	return end, err
}

// scanStringEsc is scanString that also reports whether the string holds an
// escape (a backslash).
func scanStringEsc(b []byte, i int) (end int, esc bool, err error) {
	return scanStringFrom(b, i-1, i)
}

// scanStringFrom is scanStringEsc of the string opened at b[start] whose
// bytes before b[i] are plain (neither quote, backslash, control nor
// non-ASCII).
func scanStringFrom(b []byte, start, i int) (end int, esc bool, err error) {
	n := len(b)
	for {
		i = skipPlain(b, i)
		for i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= n {
			return 0, false, synErr(n, "unexpected end of input in string starting at byte %d", start)
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= n {
				return 0, false, synErr(n, "unexpected end of input in string escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= n {
						return 0, false, synErr(n, "unexpected end of input in \\u escape")
					}
					if !isHex(b[k]) {
						return 0, false, synErr(k, "invalid hex digit %s in \\u escape", describe(b[k]))
					}
				}
				i += 6
			default:
				return 0, false, synErr(i+1, "invalid escape '\\%c' in string", b[i+1])
			}
		case c < 0x20:
			return 0, false, synErr(i, "control character 0x%02x in string (must be escaped)", c)
		default: // c >= 0x80
			size := utf8Seq(b[i:])
			if size == 0 {
				return 0, false, synErr(i, "invalid UTF-8 byte 0x%02x in string", c)
			}
			i += size
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// utf8Seq returns the length of the valid UTF-8 sequence (2–4 bytes)
// starting with the non-ASCII byte p[0], or 0 if it is invalid (overlong,
// a surrogate, beyond U+10FFFF, or truncated) — exactly utf8.Valid's rules.
func utf8Seq(p []byte) int {
	c := p[0]
	switch {
	case c >= 0xC2 && c <= 0xDF:
		if len(p) >= 2 && p[1]&0xC0 == 0x80 {
			return 2
		}
	case c >= 0xE0 && c <= 0xEF:
		if len(p) < 3 || p[2]&0xC0 != 0x80 {
			return 0
		}
		lo, hi := byte(0x80), byte(0xBF)
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
		if p[1] >= lo && p[1] <= hi {
			return 3
		}
	case c >= 0xF0 && c <= 0xF4:
		if len(p) < 4 || p[2]&0xC0 != 0x80 || p[3]&0xC0 != 0x80 {
			return 0
		}
		lo, hi := byte(0x80), byte(0xBF)
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
		if p[1] >= lo && p[1] <= hi {
			return 4
		}
	}
	return 0
}

// scanLiteral validates true, false or null at b[i].
func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, synErr(len(b), "unexpected end of input in literal %s", lit)
		}
		if b[i+k] != lit[k] {
			return 0, synErr(i+k, "unexpected %s in literal %s", describe(b[i+k]), lit)
		}
	}
	return i + len(lit), nil
}

// scanNumber validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func scanNumber(b []byte, i int) (int, error) {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	if i >= n {
		return 0, synErr(n, "unexpected end of input in number, want a digit")
	}
	switch c := b[i]; {
	case c == '0':
		i++
		if i < n && b[i] >= '0' && b[i] <= '9' {
			return 0, synErr(i, "leading zero in number")
		}
	case c >= '1' && c <= '9':
		i++
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, synErr(i, "unexpected %s in number, want a digit", describe(c))
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n || b[i] < '0' || b[i] > '9' {
			return 0, numDigitErr(b, i, "after decimal point")
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || b[i] < '0' || b[i] > '9' {
			return 0, numDigitErr(b, i, "in exponent")
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

func numDigitErr(b []byte, i int, what string) error {
	if i >= len(b) {
		return synErr(i, "unexpected end of input in number, want a digit %s", what)
	}
	return synErr(i, "unexpected %s in number, want a digit %s", describe(b[i]), what)
}
