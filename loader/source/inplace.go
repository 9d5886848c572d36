package source

// InPlace is implemented by sources whose objects may be written in place
// (a local folder, an SFTP drop): a listed object may still be growing, so
// the loader waits until it has not changed for a while (settle time) and
// checks that it did not change while it was read. S3 and GCS objects
// appear whole when a write completes and do not implement it.
type InPlace interface {
	// WrittenInPlace reports whether an object may be listed while its
	// writer is still writing it.
	WrittenInPlace() bool
}

// WrittenInPlace reports whether src's objects may be listed half-written.
func WrittenInPlace(src Source) bool {
	p, ok := src.(InPlace)
	return ok && p.WrittenInPlace()
}
