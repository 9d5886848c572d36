package icetable

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/eventlake/eventlake/internal/fsync"
)

// ErrVersionExists is returned by Store.Commit when the version was
// already committed (by an earlier run that crashed before it could say so,
// or by another writer).
var ErrVersionExists = errors.New("icetable: metadata version already exists")

// A Store keeps the versions of one table's metadata file and knows which
// is current. Committing a version is the instant Iceberg readers switch to
// it. A folder implements it with create-if-absent of vN.metadata.json
// plus a version hint (FolderStore); an object store can implement it with
// conditional writes.
type Store interface {
	// Current returns the current version and the location of its
	// metadata file; version 0 and "" when the table has none yet.
	Current(ctx context.Context) (version int, location string, err error)
	// Read returns the metadata file at location.
	Read(ctx context.Context, location string) ([]byte, error)
	// Commit makes data metadata version version, which must be the
	// current version + 1; ErrVersionExists when that version exists.
	Commit(ctx context.Context, version int, data []byte) (location string, err error)
	// Dir is the folder (or prefix) holding the metadata files, manifests
	// and manifest lists.
	Dir() string
}

// FolderStore is a Store in a local folder, laid out as a Hadoop table's
// metadata folder: v<N>.metadata.json and version-hint.text.
//
// A version is committed by a hard link of a fully written and synced
// temporary file to v<N>.metadata.json, which fails if that name exists:
// two writers can never both commit version N, and a reader never sees a
// partial file. version-hint.text (the number N, replaced by rename) is
// updated afterwards; readers, like Hadoop tables' readers, start from the
// hint and take any later version that exists, so a crash between the two
// loses nothing.
type FolderStore struct{ dir string }

// NewFolderStore returns the store of metadata folder dir.
func NewFolderStore(dir string) *FolderStore { return &FolderStore{dir: dir} }

// Dir returns the metadata folder.
func (s *FolderStore) Dir() string { return s.dir }

// HintFile is the name of the version hint in the metadata folder.
const HintFile = "version-hint.text"

func (s *FolderStore) file(version int) string {
	return filepath.Join(s.dir, fmt.Sprintf("v%d.metadata.json", version))
}

func exists(p string) (bool, error) {
	_, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Current reads the hint, then takes any later version that exists.
func (s *FolderStore) Current(ctx context.Context) (int, string, error) {
	v := 0
	b, err := os.ReadFile(filepath.Join(s.dir, HintFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, "", fmt.Errorf("icetable: read version hint: %w", err)
	default:
		n, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if perr != nil || n < 1 {
			return 0, "", fmt.Errorf("icetable: version hint %s holds %q, not a version", filepath.Join(s.dir, HintFile), b)
		}
		v = n
		ok, err := exists(s.file(v))
		if err != nil {
			return 0, "", err
		}
		if !ok {
			return 0, "", fmt.Errorf("icetable: version hint names v%d, which %s does not hold", v, s.dir)
		}
	}
	for {
		ok, err := exists(s.file(v + 1))
		if err != nil {
			return 0, "", err
		}
		if !ok {
			break
		}
		v++
	}
	if v == 0 {
		return 0, "", nil
	}
	return v, s.file(v), nil
}

// Read reads a metadata file.
func (s *FolderStore) Read(ctx context.Context, location string) ([]byte, error) {
	return os.ReadFile(location)
}

// Commit writes version atomically if absent, then updates the hint.
func (s *FolderStore) Commit(ctx context.Context, version int, data []byte) (string, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := writeTemp(s.dir, ".metadata-*.tmp", data)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	dst := s.file(version)
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%w: %s", ErrVersionExists, dst)
		}
		return "", fmt.Errorf("icetable: commit %s: %w", dst, err)
	}
	if err := fsync.Dir(s.dir); err != nil {
		return "", err
	}
	// The version is committed: a hint left stale by a failure here is
	// only slower for readers, which probe past it.
	_ = s.writeHint(version)
	return dst, nil
}

func (s *FolderStore) writeHint(version int) error {
	tmp, err := writeTemp(s.dir, ".hint-*.tmp", []byte(strconv.Itoa(version)))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, HintFile)); err != nil {
		os.Remove(tmp)
		return err
	}
	return fsync.Dir(s.dir)
}

// writeTemp writes data to a new synced temporary file in dir.
func writeTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("icetable: write %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}
