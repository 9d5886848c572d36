// Package profile maps one JSON record onto the envelope columns of the
// events table (DESIGN.md). A profile knows a vendor's envelope: Pismo's
// event_id/domain/event_type/…, fulfillmenttools' id/eventName/payload/created,
// or a mapping written in the config file (generic).
//
// Mapping is on the hot path of every load, so profiles scan the record once
// (buger/jsonparser) and hand back slices into the record instead of copies.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/buger/jsonparser"

	"github.com/eventlake/eventlake/schema"
)

// Event is what a profile extracts from a record. Byte slices point into the
// record or into the Event's own scratch buffer: they are valid until the
// next Map call with the same Event. A nil slice means "absent" (NULL).
type Event struct {
	EventID, EventType, Domain []byte
	OrgID, CID                 []byte
	SchemaVersion              int32
	HasSchemaVersion           bool
	EventTime                  int64 // micros since epoch, UTC
	Data                       []byte
	// DataObserved: a DataObserver validated Data and widened its type
	// (MapObserving).
	DataObserved bool

	scratch []byte
	// prefix: the record is the JSON object at the start of a longer
	// buffer, which ends at end (MapObservingPrefix).
	prefix bool
	end    int
}

func (e *Event) reset() {
	e.EventID, e.EventType, e.Domain, e.OrgID, e.CID, e.Data = nil, nil, nil, nil, nil, nil
	e.SchemaVersion, e.HasSchemaVersion, e.EventTime, e.DataObserved = 0, false, 0, false
	e.scratch = e.scratch[:0]
}

// DataObserver validates an event's data and infers its type in one walk
// (the loader's workers implement it).
type DataObserver interface {
	// ObserveData validates the JSON value starting at b[i] exactly as
	// the record validator would (schema.Type.ObserveStrictAt), widens the
	// type of (domain, eventType) by it and returns the value's end. It
	// returns -1 when it does not take the value.
	ObserveData(domain, eventType, b []byte, i int) (int, error)
}

// ObservingMapper is implemented by profiles whose data member can be
// validated by a DataObserver while the record is mapped: one walk over the
// data instead of a validating one and a typing one. MapObserving is Map
// otherwise; it sets ev.DataObserved when obs took the data. When it fails,
// Map names the reason (the observer's error text may differ from the
// validator's).
type ObservingMapper interface {
	MapObserving(rec []byte, ev *Event, obs DataObserver) error
}

// members visits a record's members; with an observer, the member named
// data is validated by it once the envelope's domain and event type are
// known (they come first in the layouts that implement ObservingMapper).
func members(rec []byte, ev *Event, data string, obs DataObserver, fn func(key, raw []byte) error) error {
	if obs == nil {
		return schema.Members(rec, fn)
	}
	observe := func(b []byte, i int) (int, error) {
		if ev.Domain == nil || ev.EventType == nil {
			return -1, nil
		}
		end, err := obs.ObserveData(ev.Domain, ev.EventType, b, i)
		if err == nil && end >= 0 {
			ev.DataObserved = true
		}
		return end, err
	}
	if ev.prefix {
		var err error
		ev.end, err = schema.MembersPrefix(rec, data, observe, fn)
		return err
	}
	return schema.MembersWith(rec, data, observe, fn)
}

// PrefixMapper is implemented by profiles that can map a record which is
// the JSON object at the start of a longer buffer, and say where it ends:
// a reader of concatenated objects held in memory then needs no separate
// pass to find each object's end (format.Reader.SetValueEnd). It is
// MapObserving otherwise. On an error the record's end is unknown: the
// caller finds it by other means and maps it again (Map names the reason).
type PrefixMapper interface {
	ObservingMapper
	MapObservingPrefix(b []byte, ev *Event, obs DataObserver) (end int, err error)
}

// mapPrefix runs a profile's mapRecord over the object at the start of b.
func mapPrefix(b []byte, ev *Event, obs DataObserver, mapRecord func([]byte, *Event, DataObserver) error) (int, error) {
	ev.prefix, ev.end = true, -1
	err := mapRecord(b, ev, obs)
	ev.prefix = false
	if err != nil {
		return -1, err
	}
	return ev.end, nil
}

// Profile maps records of one vendor layout.
type Profile interface {
	// Name is the profile's name as used on the command line.
	Name() string
	// Match reports whether a record has this profile's envelope; auto
	// uses it on an object's first record.
	Match(rec []byte) bool
	// Map fills ev from rec. An error is the reject reason for the record.
	Map(rec []byte, ev *Event) error
}

// Reasons a record is rejected; the error text that reaches _rejects wraps
// one of these with detail.
var (
	ErrInvalidJSON    = errors.New("invalid JSON")
	ErrNotObject      = errors.New("record is not a JSON object")
	ErrInvalidUTF8    = errors.New("invalid UTF-8")
	ErrMissingField   = errors.New("missing required field")
	ErrBadField       = errors.New("bad field")
	ErrDuplicateField = errors.New("duplicate envelope field")
	// ErrLoneSurrogate: data holds a \uD800-\uDFFF escape that is not half
	// of a surrogate pair. RFC 8259 lets it pass as JSON syntax, but it is
	// no Unicode text, and JSON readers (DuckDB among them) refuse the
	// whole Parquet column when one value has it.
	ErrLoneSurrogate = errors.New("lone UTF-16 surrogate escape")
)

// checkData returns an ErrLoneSurrogate error when the (valid JSON) data
// has a lone surrogate escape. Backslashes occur only inside strings, each
// starting an escape, so a scan from backslash to backslash is exact.
func checkData(data []byte) error {
	for i := bytes.IndexByte(data, '\\'); i >= 0 && i+1 < len(data); {
		next := i + 2
		if data[i+1] == 'u' && i+6 <= len(data) {
			next = i + 6
			switch r := hex4(data[i+2 : i+6]); {
			case r >= 0xD800 && r <= 0xDBFF:
				if i+12 <= len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
					if r2 := hex4(data[i+8 : i+12]); r2 >= 0xDC00 && r2 <= 0xDFFF {
						next = i + 12
						break
					}
				}
				fallthrough
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Errorf("%w %s at byte %d of data: not Unicode text, and JSON readers such as DuckDB refuse it", ErrLoneSurrogate, data[i:i+6], i)
			}
		}
		j := bytes.IndexByte(data[next:], '\\')
		if j < 0 {
			break
		}
		i = next + j
	}
	return nil
}

// hex4 decodes four hex digits (-1 if they are not).
func hex4(b []byte) int {
	v := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}

// validate checks what every profile needs: one valid JSON value, valid
// UTF-8 in its strings, an object at the top. (schema.Validate runs at
// ~1.5 GB/s; encoding/json.Valid at a fraction of that.)
func validate(rec []byte) error {
	if err := schema.Validate(rec); err != nil {
		var se *schema.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Msg, "UTF-8") {
			return fmt.Errorf("%w at byte %d of the record", ErrInvalidUTF8, se.Offset)
		}
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if rec[0] != '{' {
		return ErrNotObject
	}
	return nil
}

// recordError maps a validation error of schema.Members to a reject reason;
// errors from the field callbacks pass through.
func recordError(err error) error {
	var se *schema.SyntaxError
	switch {
	case errors.Is(err, schema.ErrNotObject):
		return ErrNotObject
	case errors.As(err, &se):
		if strings.Contains(se.Msg, "UTF-8") {
			return fmt.Errorf("%w at byte %d of the record", ErrInvalidUTF8, se.Offset)
		}
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	return err
}

// str returns a JSON string value unescaped, using ev's scratch when the
// value has escapes. Numbers are accepted as their text (ids are sometimes
// numeric in the wild).
func (ev *Event) str(field string, v []byte, t jsonparser.ValueType) ([]byte, error) {
	switch t {
	case jsonparser.String:
		if bytes.IndexByte(v, '\\') < 0 {
			return v, nil
		}
		start := len(ev.scratch)
		if cap(ev.scratch)-start < len(v) {
			// Grow; slices handed out earlier keep the old array alive.
			grown := make([]byte, start, 2*cap(ev.scratch)+len(v))
			copy(grown, ev.scratch)
			ev.scratch = grown
		}
		out, err := jsonparser.Unescape(v, ev.scratch[start:start+len(v)])
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrBadField, field, err)
		}
		ev.scratch = ev.scratch[:start+len(out)]
		return out, nil
	case jsonparser.Number:
		return v, nil
	case jsonparser.Null:
		return nil, nil
	}
	return nil, fmt.Errorf("%w %s: want a string, got %s", ErrBadField, field, t)
}

func (ev *Event) timestamp(field string, v []byte, t jsonparser.ValueType) error {
	switch t {
	case jsonparser.String:
		us, err := ParseTimestamp(v)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		ev.EventTime = us
		return nil
	case jsonparser.Number:
		var us int64
		var err error
		if n, ierr := strconv.ParseInt(string(v), 10, 64); ierr == nil {
			// Integers exactly: a nanosecond epoch has 19 digits, more
			// than a float64 holds.
			us, err = epochIntToMicros(n)
		} else {
			f, ferr := strconv.ParseFloat(string(v), 64)
			if ferr != nil {
				return fmt.Errorf("%s: %w: %s", field, errTimestamp, clip(v, 40))
			}
			us, err = EpochToMicros(f)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		ev.EventTime = us
		return nil
	case jsonparser.Null:
		return fmt.Errorf("%w %s (null)", ErrMissingField, field)
	}
	return fmt.Errorf("%s: %w: a JSON %s", field, errTimestamp, t)
}

// version parses schema_version given as a number or a string ("1"). An
// unusable value leaves it NULL rather than rejecting the event.
func (ev *Event) version(v []byte, t jsonparser.ValueType) {
	if t != jsonparser.String && t != jsonparser.Number {
		return
	}
	if len(v) > 0 && len(v) <= 9 {
		// The usual plain digits (fewer than ten always fit an int32).
		n := int32(0)
		for _, c := range v {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int32(c-'0')
		}
		if n >= 0 {
			ev.SchemaVersion, ev.HasSchemaVersion = n, true
			return
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64)
		if ferr != nil || f != float64(int32(f)) {
			return
		}
		n = int64(f)
	}
	ev.SchemaVersion, ev.HasSchemaVersion = int32(n), true
}

// versionSuffix extracts N from a name ending in "-N", "_N", "-vN" or "_vN".
func versionSuffix(name []byte) (int32, bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || len(name)-i > 9 || i == 0 {
		return 0, false
	}
	j := i
	if name[j-1] == 'v' || name[j-1] == 'V' {
		j--
	}
	if j == 0 || (name[j-1] != '-' && name[j-1] != '_') {
		return 0, false
	}
	n, _ := strconv.Atoi(string(name[i:]))
	return int32(n), true
}

// Registry of built-in profiles by name.
var builtins = map[string]func() Profile{
	"pismo":            func() Profile { return Pismo{} },
	"fulfillmenttools": func() Profile { return Fulfillmenttools{} },
}

// Names lists the built-in profile names (auto and generic are handled by
// the loader).
func Names() []string {
	var n []string
	for k := range builtins {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Builtin returns a built-in profile by name.
func Builtin(name string) (Profile, bool) {
	f, ok := builtins[name]
	if !ok {
		return nil, false
	}
	return f(), true
}

// Detect picks the profile whose Match accepts rec, trying candidates in
// order. It returns nil when none does.
func Detect(rec []byte, candidates []Profile) Profile {
	for _, p := range candidates {
		if p.Match(rec) {
			return p
		}
	}
	return nil
}

// hasKeys reports whether rec's top-level object has all keys.
func hasKeys(rec []byte, keys ...string) bool {
	found := 0
	paths := make([][]string, len(keys))
	for i, k := range keys {
		paths[i] = []string{k}
	}
	jsonparser.EachKey(rec, func(idx int, _ []byte, _ jsonparser.ValueType, err error) {
		if err == nil {
			found |= 1 << idx
		}
	}, paths...)
	return found == 1<<len(keys)-1
}
