package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is the compression of an object, sniffed from its first bytes.
type Compression int

// Compressions recognised by Decompress.
const (
	None Compression = iota
	Gzip
	Zstd
)

// String returns "none", "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

var (
	// ErrTruncated is wrapped by read errors when a compressed stream ends early (object must fail, not load
	// partially).
	ErrTruncated = errors.New("compressed stream truncated")
	// ErrTrailingGarbage is wrapped by the read error for bytes after the last gzip member that do not start
	// another member.
	ErrTrailingGarbage = errors.New("trailing garbage after compressed stream")
	// ErrCorrupt is wrapped by read errors for compressed data that does not decode (bad header, bad block,
	// checksum mismatch).
	ErrCorrupt = errors.New("corrupt compressed stream")
)

const (
	decompBufSize = 64 << 10
	// zstdMaxWindow bounds the history a zstd frame may demand (the decoder allocates about that much). 128 MiB is
	// the largest window `zstd --long` uses by default; frames asking for more are rejected instead of allocating
	// up to the library's 512 MiB default.
	zstdMaxWindow = 128 << 20
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Decoders are pooled: a zstd decoder costs a few hundred KiB of tables and buffers, a flate reader ~40 KiB. With
// WithDecoderConcurrency(1) the zstd decoder decodes synchronously in Read and owns no goroutines, so a pooled
// (or leaked) decoder holds nothing but memory.
var (
	bufPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, decompBufSize) }}
	gzipPool sync.Pool // *gzip.Reader
	zstdPool sync.Pool // *zstd.Decoder
)

func getZstd() (*zstd.Decoder, error) {
	if d, ok := zstdPool.Get().(*zstd.Decoder); ok {
		return d, nil
	}
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow))
}

// countingReader counts the compressed bytes consumed and remembers the source's own error, so that a network
// failure is reported as itself rather than as corruption.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// decompressor is the io.ReadCloser returned by Decompress.
type decompressor struct {
	kind   Compression
	src    countingReader
	br     *bufio.Reader
	gz     *gzip.Reader
	zd     *zstd.Decoder
	err    error // sticky
	closed bool
}

// Decompress sniffs the compression from the magic bytes (gzip 1f 8b, zstd 28 b5 2f fd), never from a file name,
// and returns a reader of the decompressed bytes. Concatenated gzip members are read as one stream; zero bytes after
// the last member are padding and ignored (as GNU gzip does); other bytes after a gzip member that do not start
// another member are an error wrapping ErrTrailingGarbage; a truncated gzip/zstd
// stream yields an error wrapping ErrTruncated; undecodable data an error naming gzip/zstd and wrapping
// ErrCorrupt. Errors of r itself are returned unchanged. Close releases the decoder for reuse; it does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	d := &decompressor{src: countingReader{r: r}}
	d.br = bufPool.Get().(*bufio.Reader)
	d.br.Reset(&d.src)
	magic, err := d.br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		d.Close()
		return nil, None, err
	}
	switch CompressionOf(magic) {
	case Gzip:
		d.kind = Gzip
		d.gz, _ = gzipPool.Get().(*gzip.Reader)
		if d.gz == nil {
			d.gz = new(gzip.Reader)
		}
		// d.br is a flate.Reader (io.ByteReader), so the gzip reader uses it directly and never reads past the
		// end of a member: that is what lets nextMember look at the bytes that follow.
		if err := d.gz.Reset(d.br); err != nil {
			err = d.gzipErr(err)
			d.Close()
			return nil, Gzip, err
		}
		d.gz.Multistream(false)
	case Zstd:
		d.kind = Zstd
		zd, err := getZstd()
		if err != nil {
			d.Close()
			return nil, Zstd, fmt.Errorf("zstd: creating decoder: %w", err)
		}
		d.zd = zd
		if err := zd.Reset(d.br); err != nil {
			d.Close()
			return nil, Zstd, d.zstdErr(err)
		}
	}
	return d, d.kind, nil
}

// CompressionOf returns the compression of an object that begins with head
// (at least its first four bytes, when it has as many), sniffed from the
// magic bytes as Decompress sniffs it.
func CompressionOf(head []byte) Compression {
	switch {
	case len(head) >= len(gzipMagic) && head[0] == gzipMagic[0] && head[1] == gzipMagic[1]:
		return Gzip
	case len(head) >= len(zstdMagic) && string(head[:len(zstdMagic)]) == string(zstdMagic):
		return Zstd
	}
	return None
}

// Read implements io.Reader over the decompressed bytes.
func (d *decompressor) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.closed {
		return 0, errors.New("format: read from closed decompressor")
	}
	var n int
	var err error
	switch d.kind {
	case Gzip:
		n, err = d.readGzip(p)
	case Zstd:
		n, err = d.zd.Read(p)
		if err != nil && err != io.EOF {
			err = d.zstdErr(err)
		}
	default:
		n, err = d.br.Read(p)
	}
	if err != nil {
		d.err = err
	}
	return n, err
}

func (d *decompressor) readGzip(p []byte) (int, error) {
	for {
		n, err := d.gz.Read(p)
		if err == nil {
			return n, nil
		}
		if err != io.EOF {
			return n, d.gzipErr(err)
		}
		// End of a member (Multistream is off so that trailing bytes can be told apart from a next member).
		if err := d.nextMember(); err != nil || n > 0 {
			return n, err
		}
	}
}

// nextMember starts the gzip member following the one just finished; io.EOF when the stream ends cleanly.
func (d *decompressor) nextMember() error {
	b, err := d.br.Peek(len(gzipMagic))
	if len(b) == 0 {
		if err == io.EOF {
			return io.EOF
		}
		return err
	}
	if b[0] == 0 {
		return d.skipZeroPadding()
	}
	if len(b) < len(gzipMagic) || b[0] != gzipMagic[0] || b[1] != gzipMagic[1] {
		if err != nil && err != io.EOF {
			return err
		}
		return d.trailingGarbage()
	}
	if err := d.gz.Reset(d.br); err != nil {
		return d.gzipErr(err)
	}
	d.gz.Multistream(false)
	return nil
}

func (d *decompressor) trailingGarbage() error {
	at := d.src.n - int64(d.br.Buffered())
	return fmt.Errorf("gzip: %w: bytes at compressed offset %d do not start a gzip member", ErrTrailingGarbage, at)
}

// skipZeroPadding consumes NUL bytes after the last gzip member up to the end of the stream: io.EOF when only
// zeros follow (padding that tape, block-device and some upload tools add; GNU gzip and Python ignore it too),
// ErrTrailingGarbage at the first byte that is not zero.
func (d *decompressor) skipZeroPadding() error {
	for {
		b, err := d.br.Peek(max(d.br.Buffered(), 1))
		for i, c := range b {
			if c != 0 {
				_, _ = d.br.Discard(i)
				return d.trailingGarbage()
			}
		}
		_, _ = d.br.Discard(len(b))
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
}

func (d *decompressor) gzipErr(err error) error { return d.codecErr("gzip", err) }
func (d *decompressor) zstdErr(err error) error { return d.codecErr("zstd", err) }

func (d *decompressor) codecErr(codec string, err error) error {
	if d.src.err != nil && errors.Is(err, d.src.err) {
		return err // the source failed; not the codec's fault
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		// io.EOF here means the data ended inside a header the magic bytes promised.
		return fmt.Errorf("%s: %w after %d compressed bytes (%w)", codec, ErrTruncated, d.src.n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s: %w: %w", codec, ErrCorrupt, err)
}

// Close releases the decoder and buffers for reuse. It is idempotent and does not close the source.
func (d *decompressor) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.gz != nil {
		gzipPool.Put(d.gz)
		d.gz = nil
	}
	if d.zd != nil {
		_ = d.zd.Reset(nil) // drops the reference to the source
		zstdPool.Put(d.zd)
		d.zd = nil
	}
	if d.br != nil {
		d.br.Reset(nil)
		bufPool.Put(d.br)
		d.br = nil
	}
	d.src.r = nil
	return nil
}
