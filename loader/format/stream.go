package format

import (
	"errors"
	"io"
)

const (
	// peekSize is the most the shape sniffers look at.
	peekSize = 64 << 10
	// readSize is the minimum free space handed to one Read of the source; it is also the slack the buffer may hold
	// beyond MaxRecordBytes ("one read buffer").
	readSize = 64 << 10
	// initBufSize is the initial buffer size: a peek plus one read, so small objects need no growth.
	initBufSize = 128 << 10
	// maxEmptyReads bounds consecutive (0, nil) reads before giving up, as bufio does.
	maxEmptyReads = 100
)

// stream is a sliding window over a source. buf[:end] holds the bytes from stream offset base on. Callers say which
// offset they still need (keep); everything before it may be discarded when room is needed. Data is only ever moved
// when the free space is below readSize, so a large record in progress is not copied once per read.
type stream struct {
	src  io.Reader
	buf  []byte
	base int64 // stream offset of buf[0]
	end  int   // buf[:end] holds data
	max  int   // the buffer never grows beyond this many bytes
	eof  bool  // the source returned io.EOF
	err  error // sticky non-EOF read error
}

func newStream(src io.Reader, maxBuf int) *stream {
	if maxBuf < peekSize+readSize {
		maxBuf = peekSize + readSize
	}
	return &stream{src: src, buf: make([]byte, min(initBufSize, maxBuf)), max: maxBuf}
}

// fill makes room (discarding bytes before offset keep) and reads from the source. It reports whether new bytes
// arrived; false means the source is exhausted (eof) or failed (err).
func (s *stream) fill(keep int64) bool {
	if s.err != nil || s.eof {
		return false
	}
	if len(s.buf)-s.end < readSize {
		if k := int(keep - s.base); k > 0 {
			s.end = copy(s.buf, s.buf[k:s.end])
			s.base += int64(k)
		}
		if len(s.buf)-s.end < readSize && len(s.buf) < s.max {
			n := min(max(2*len(s.buf), s.end+readSize), s.max)
			nb := make([]byte, n)
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
		if s.end == len(s.buf) {
			// Callers switch to skipping before a record outgrows max, so this is a bug, not bad input.
			s.err = errors.New("format: internal error: read buffer full")
			return false
		}
	}
	for tries := 0; ; tries++ {
		n, err := s.src.Read(s.buf[s.end:])
		if n < 0 || n > len(s.buf)-s.end {
			s.err = errors.New("format: source returned an invalid byte count")
			return false
		}
		s.end += n
		if err == io.EOF {
			s.eof = true
			return n > 0
		}
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
		if tries >= maxEmptyReads {
			s.err = io.ErrNoProgress
			return false
		}
	}
}

// peek reads until at least peekSize bytes are buffered or the source ends. It returns the source error, if any.
func (s *stream) peek() error {
	for s.end < peekSize && s.fill(s.base) {
	}
	return s.err
}

// isSpace reports JSON whitespace other than '\n' (lines are counted separately).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// lastNonSpace returns the index of the last byte of b that is not JSON whitespace, or -1.
func lastNonSpace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if c := b[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}
