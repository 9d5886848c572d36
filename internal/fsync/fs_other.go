//go:build !linux

package fsync

func openFS(string) (*FS, error) { return nil, ErrNoSyncFS }

func (f *FS) sync() error  { return ErrNoSyncFS }
func (f *FS) close() error { return nil }
