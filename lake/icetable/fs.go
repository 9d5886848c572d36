package icetable

import (
	"os"
	"path/filepath"

	iceio "github.com/apache/iceberg-go/io"

	"github.com/eventlake/eventlake/internal/fsync"
)

// syncFS is iceberg-go's local file IO, except that every file it writes
// (manifests, manifest lists) is synced with its folder when closed: they
// must be durable before the metadata version naming them is committed.
type syncFS struct{ iceio.LocalFS }

func (s syncFS) Create(name string) (iceio.FileWriter, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return syncFile{f}, nil
}

func (s syncFS) WriteFile(name string, p []byte) error {
	w, err := s.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

type syncFile struct{ *os.File }

func (f syncFile) Close() error {
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsync.Dir(filepath.Dir(f.Name()))
	}
	return err
}
