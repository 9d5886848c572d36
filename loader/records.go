package loader

import (
	"context"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/loader/profile"
	"github.com/eventlake/eventlake/partitions"
)

// pendingLimit is how many records auto-detection may look at before it
// gives up on an object.
const pendingLimit = 100

// interner shares the values that repeat across a worker's rows, so rows
// do not allocate one each (the writers only read through them).
type interner struct {
	strs map[string]string
	// ptrs shares one *string per value of a nullable column.
	ptrs     map[string]*string
	versions [64]*int32
}

func newInterner() interner {
	return interner{strs: map[string]string{}, ptrs: map[string]*string{}}
}

// str returns a shared string for repetitive values (domain, event_type,
// org_id) without allocating when it is already known.
func (in *interner) str(p []byte) string {
	if s, ok := in.strs[string(p)]; ok {
		return s
	}
	if len(in.strs) > 50000 {
		clear(in.strs)
	}
	s := string(p)
	in.strs[s] = s
	return s
}

// version returns a shared pointer for common schema versions.
func (in *interner) version(v int32) *int32 {
	if v >= 0 && int(v) < len(in.versions) {
		if in.versions[v] == nil {
			in.versions[v] = new(int32)
			*in.versions[v] = v
		}
		return in.versions[v]
	}
	p := new(int32)
	*p = v
	return p
}

// ptr returns a shared pointer to p's text; nil for nil.
func (in *interner) ptr(p []byte) *string {
	if p == nil {
		return nil
	}
	if sp, ok := in.ptrs[string(p)]; ok {
		return sp
	}
	if len(in.ptrs) > 50000 {
		clear(in.ptrs)
	}
	s := in.str(p)
	in.ptrs[s] = &s
	return &s
}

// fuseRecords: profiles that can (profile.PrefixMapper) find the end of each
// concatenated object while they map it (tests turn it off to compare).
var fuseRecords = true

// readRecords maps every record of the object into the buffer. It returns a
// non-empty quarantine reason when the whole object must be quarantined.
func (w *worker) readRecords(ctx context.Context, rd *format.Reader, j job, url string, r *result) (string, error) {
	if p := w.l.csvProfiles[j.profile]; p != nil {
		return fmt.Sprintf("JSON records, but profile %s reads delimited (CSV) files", p.Name), nil
	}
	cands, err := w.l.profiles.resolve(j.profile)
	if err != nil {
		return "", err
	}
	var prof profile.Profile
	if len(cands) == 1 {
		prof = cands[0]
		r.rec.Profile = prof.Name()
	}
	type pendingRec struct {
		data         []byte
		line, offset int64
	}
	var pending []pendingRec
	// A profile that maps a record at the start of the rest of an object
	// held in memory finds the record's end in the same walk: the reader
	// (of concatenated objects, or of NDJSON lines that hold one object
	// each) then hands over records it did not scan, marked Taken, whose
	// event w.ev holds.
	fuse := func() {
		pm, ok := prof.(profile.PrefixMapper)
		if !ok || !fuseRecords {
			return
		}
		rd.SetValueEnd(func(b []byte) int {
			w.obs.begin(url)
			end, err := pm.MapObservingPrefix(b, &w.ev, &w.obs)
			if err != nil {
				w.obs.rollback() // the scanner finds its end; mapRecord names the reason
				return -1
			}
			return end
		}, w.obs.rollback) // an NDJSON line holding more than the object: mapRecord maps the line
	}
	if prof != nil {
		fuse()
	}
	n := 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		if rec.Taken {
			if err := w.acceptEvent(rec.Data, url, rec.Line, rec.Offset, rec.Size, true, r); err != nil {
				return "", err
			}
			continue
		}
		if rec.Err != nil {
			w.reject(url, rec.Line, rec.Offset, rec.Size, rec.Err.Error(), rec.Data, r)
			continue
		}
		if prof == nil {
			prof = profile.Detect(rec.Data, cands)
			if prof == nil {
				pending = append(pending, pendingRec{append([]byte(nil), rec.Data...), rec.Line, rec.Offset})
				if len(pending) >= pendingLimit {
					return w.noProfile(cands, pending[0].data), nil
				}
				continue
			}
			r.rec.Profile = prof.Name()
			w.l.opts.Log.Debug("profile chosen", "object", url, "profile", prof.Name())
			for _, p := range pending {
				if err := w.mapRecord(prof, p.data, url, p.line, p.offset, int64(len(p.data)), r); err != nil {
					return "", err
				}
			}
			pending = nil
			fuse()
		}
		if err := w.mapRecord(prof, rec.Data, url, rec.Line, rec.Offset, rec.Size, r); err != nil {
			return "", err
		}
	}
	if prof == nil && len(pending) > 0 {
		return w.noProfile(cands, pending[0].data), nil
	}
	return "", nil
}

func (w *worker) noProfile(cands []profile.Profile, first []byte) string {
	if looksBinary(w.head.buf) {
		return fmt.Sprintf("binary content (first bytes: % x): not JSON records or CSV text; is this an export file, or compressed with a codec eventlake does not read (gzip and zstd it does)?",
			w.head.buf[:min(len(w.head.buf), 16)])
	}
	var names []string
	for _, c := range cands {
		names = append(names, c.Name())
	}
	return fmt.Sprintf("auto: no profile (%v) recognises the records (first: %s); choose one with --profile or map it with a generic profile",
		names, clip(first, 120))
}

// mapRecord maps one good record and buffers its row or its reject.
func (w *worker) mapRecord(p profile.Profile, data []byte, url string, line, offset, size int64, r *result) error {
	ev := &w.ev
	// Profiles that can, let the worker validate the data while it infers
	// its type (ObserveData): one walk instead of two. A record that fails
	// takes back what it widened, and Map names the reason.
	om, observing := p.(profile.ObservingMapper)
	w.obs.begin(url)
	var err error
	if observing {
		if err = om.MapObserving(data, ev, &w.obs); err != nil {
			w.obs.rollback()
			observing = false
			err = p.Map(data, ev)
		}
	} else {
		err = p.Map(data, ev)
	}
	if err != nil {
		w.reject(url, line, offset, size, err.Error(), data, r)
		return nil
	}
	return w.acceptEvent(data, url, line, offset, size, observing, r)
}

// acceptEvent buffers the row of the event a profile mapped from data into
// w.ev (observing: with w.obs as its DataObserver).
func (w *worker) acceptEvent(data []byte, url string, line, offset, size int64, observing bool, r *result) error {
	ev := &w.ev
	// The event type's interned key, looked up once per distinct type.
	k := w.obs.recordKey(ev.Domain, ev.EventType)
	domain := k.domain
	if err := partitions.CheckValue(domain); err != nil {
		w.obs.rollback()
		w.reject(url, line, offset, size, "domain: "+err.Error(), data, r)
		return nil
	}
	if err := w.reserveRow(w.copyLen(ev.EventID) + w.copyLen(ev.Data) + w.copyLen(ev.CID)); err != nil {
		return err
	}
	b := &w.buf
	row := partitions.EventRow{
		EventID:    w.ref(ev.EventID),
		EventType:  k.eventType,
		OrgID:      w.intern.ptr(ev.OrgID),
		EventTime:  ev.EventTime,
		Data:       w.ref(ev.Data),
		Object:     url,
		Line:       line,
		Offset:     offset,
		LoadID:     w.l.id,
		IngestedAt: w.l.ingestedAt,
		Domain:     domain,
	}
	if ev.CID != nil {
		row.CID = b.strPtr(w.ref(ev.CID))
	}
	if ev.HasSchemaVersion {
		row.SchemaVersion = w.intern.version(ev.SchemaVersion)
	}
	b.rows = append(b.rows, row)
	b.size += 160
	r.rec.Records++
	w.l.recordsDone.Add(1)
	if !observing || !ev.DataObserved {
		w.obs.observe(row.Domain, row.EventType, row.Data, url)
	}
	if b.size > w.l.opts.BufferBytes {
		return w.spill()
	}
	return nil
}

// looksBinary reports whether the head of an object is binary data rather
// than text: a NUL byte (UTF-16 is told apart before records are read), or
// more than a tenth of control bytes and invalid UTF-8.
func looksBinary(head []byte) bool {
	head = head[:min(len(head), 4096)]
	if len(head) == 0 {
		return false
	}
	odd := 0
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		switch {
		case r == 0:
			return true
		case r == utf8.RuneError && size == 1 && len(head)-i >= utf8.UTFMax:
			odd++
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f':
			odd++
		}
		i += size
	}
	return odd*10 > len(head)
}
