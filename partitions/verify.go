package partitions

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/parquet-go/parquet-go"
)

// Every file a writer finishes gets its size and a checksum (File.Bytes,
// File.Checksum), which the catalog stores; `eventlake check` reads every
// live file back and compares. The checksum is xxhash64 of the whole file:
// it is computed as the bytes are written (no second read), and verifying
// it runs at memory speed, so a check is bound by the disk.

// checksumPrefix names the checksum's algorithm in the stored value.
const checksumPrefix = "xxh64:"

func formatChecksum(sum uint64) string { return fmt.Sprintf("%s%016x", checksumPrefix, sum) }

// Kinds of FileProblem.
const (
	ProblemMissing    = "missing"    // not on disk
	ProblemSize       = "size"       // on disk with another size than recorded (truncated, appended to, replaced)
	ProblemChecksum   = "checksum"   // same size, other content (bit flips, overwritten bytes)
	ProblemFooter     = "footer"     // the Parquet footer does not parse
	ProblemUnreadable = "unreadable" // not a regular file, or an I/O error reading it
)

// FileProblem says what is wrong with a lake file.
type FileProblem struct {
	Path   string // as given to StatFile / VerifyFile
	Kind   string // one of the Problem constants
	Detail string
}

func (p *FileProblem) Error() string { return p.Path + ": " + p.Detail }

// StatFile is the cheap check (one stat) readers make before reading a
// file: it exists, is a regular file, and has the recorded size (size < 0:
// not compared).
func StatFile(path string, size int64) error {
	st, err := os.Stat(path)
	return statProblem(path, st, err, size)
}

func statProblem(path string, st fs.FileInfo, err error, size int64) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &FileProblem{Path: path, Kind: ProblemMissing, Detail: "missing on disk"}
	case err != nil:
		return &FileProblem{Path: path, Kind: ProblemUnreadable, Detail: err.Error()}
	case !st.Mode().IsRegular():
		return &FileProblem{Path: path, Kind: ProblemUnreadable, Detail: "not a regular file (" + st.Mode().Type().String() + ")"}
	case size >= 0 && st.Size() != size:
		return &FileProblem{Path: path, Kind: ProblemSize, Detail: fmt.Sprintf("%d bytes on disk, %d recorded when it was written", st.Size(), size)}
	}
	return nil
}

// VerifyFile reads a whole lake file and checks it against what was
// recorded when it was written: it exists, has the recorded size (size <
// 0: not compared), its content has the recorded checksum ("" when the
// catalog has none: files written before checksums were recorded), and its
// Parquet footer parses. It returns nil or a *FileProblem (the first
// problem found); it never writes.
func VerifyFile(path string, size int64, checksum string) error {
	f, err := os.Open(path)
	if err != nil {
		return statProblem(path, nil, err, size)
	}
	defer f.Close()
	st, err := f.Stat()
	if p := statProblem(path, st, err, size); p != nil {
		return p
	}
	if checksum != "" {
		if !strings.HasPrefix(checksum, checksumPrefix) {
			return &FileProblem{Path: path, Kind: ProblemUnreadable, Detail: fmt.Sprintf("recorded checksum %q is of an unknown kind", checksum)}
		}
		h := xxhash.New()
		n, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size()))
		if err != nil {
			return &FileProblem{Path: path, Kind: ProblemUnreadable, Detail: err.Error()}
		}
		if n != st.Size() {
			return &FileProblem{Path: path, Kind: ProblemSize, Detail: fmt.Sprintf("read %d bytes of %d", n, st.Size())}
		}
		if got := formatChecksum(h.Sum64()); got != checksum {
			return &FileProblem{Path: path, Kind: ProblemChecksum,
				Detail: fmt.Sprintf("content differs from what was written (checksum %s, recorded %s): bytes were changed on disk", got, checksum)}
		}
	}
	if err := parseFooter(f, st.Size()); err != nil {
		return &FileProblem{Path: path, Kind: ProblemFooter, Detail: "the Parquet footer does not parse: " + err.Error()}
	}
	return nil
}

// parseFooter reads the file's Parquet footer (metadata only: no pages,
// page index or bloom filters).
func parseFooter(r io.ReaderAt, size int64) (err error) {
	defer func() {
		// parquet-go panics on some malformed inputs.
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	_, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
	return err
}
