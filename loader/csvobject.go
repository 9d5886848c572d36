package loader

import (
	"unsafe"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader/csvtable"
	"github.com/eventlake/eventlake/loader/format"
)

// readCSV loads a delimited object into the buffer's table rows. It returns
// a quarantine reason when the whole object cannot be taken.
func (w *worker) readCSV(rd *format.Reader, j job, url string, r *result) (string, error) {
	t, q, err := csvtable.Open(rd, w.l.csvProfiles, j.profile, j.obj.Key, &w.head)
	if t != nil {
		r.rec.Profile = t.Profile.Name
	}
	if q != "" || err != nil {
		return q, err
	}
	w.buf.table = t
	err = t.Read(csvtable.Object{Key: j.obj.Key, URL: url, LoadID: w.l.id, IngestedAt: w.l.ingestedAt}, &csvSink{w: w, url: url, r: r})
	if err != nil {
		return "", err
	}
	r.tableTypes = t.Types
	return "", nil
}

// csvSink takes a delimited object's rows into the worker's buffer.
type csvSink struct {
	w   *worker
	url string
	r   *result
}

// Keep: the text of an object read whole stays where it is (the worker
// writes the object's rows into its row groups before the object's buffer
// is reused, see flushTable); other text is copied into the arena. A CSV
// object's rows cannot spill: past the arena budget, a worker that already
// holds chunks overdraws it (str).
func (s *csvSink) Keep(p string) string {
	if len(p) == 0 {
		return ""
	}
	bp := unsafe.Slice(unsafe.StringData(p), len(p))
	if s.w.inf.inPlace(bp) {
		return p
	}
	if b := &s.w.buf; !b.reserve(len(p)) && len(b.chunks) == 0 {
		b.waitReserve(len(p))
	}
	return s.w.buf.str(bp)
}

// Str copies p into the arena (str only reads the bytes it is given).
func (s *csvSink) Str(p string) string {
	return s.w.buf.str(unsafe.Slice(unsafe.StringData(p), len(p)))
}

func (s *csvSink) Reject(line, offset, size int64, reason string, raw []byte) {
	s.w.reject(s.url, line, offset, size, reason, raw, s.r)
}

func (s *csvSink) Row(size int, lenient bool) {
	s.w.buf.size += size
	if lenient {
		s.r.rec.LenientQuotes++ // loaded, and counted: a strict reader would refuse the row
	}
	s.r.rec.Records++
	s.w.l.recordsDone.Add(1)
}

// flushTable writes a finished CSV object's rows into the worker's row
// groups of its table (see tableSink).
func (w *worker) flushTable() error {
	return w.buf.table.Write(&w.tables)
}

// tableSchemas folds the committed CSV objects of this load into the stored
// table schemas.
func (l *load) tableSchemas(stored []catalog.SchemaRecord, results []result) ([]catalog.SchemaRecord, error) {
	var typed []csvtable.Typed
	for _, r := range results {
		if r.tableTypes != nil && r.rec.Status == catalog.ObjectCommitted {
			typed = append(typed, csvtable.Typed{URL: r.url, Profile: r.rec.Profile, Types: r.tableTypes})
		}
	}
	return csvtable.Schemas(l.csvProfiles, stored, typed)
}
