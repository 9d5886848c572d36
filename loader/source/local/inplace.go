package local

// WrittenInPlace implements source.InPlace: files in a folder are written
// in place (a copy, an export job), so a listing may see one half-written.
func (s *Source) WrittenInPlace() bool { return true }
