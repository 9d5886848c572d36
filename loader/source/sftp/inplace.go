package sftp

// WrittenInPlace implements source.InPlace: an upload to an SFTP drop
// writes the file in place, so a listing may see one half-written.
func (s *Source) WrittenInPlace() bool { return true }
