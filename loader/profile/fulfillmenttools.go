package profile

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Fulfillmenttools maps the fulfillmenttools public event export (seed 004):
// one NDJSON line per event, {"id", "eventName", "payload", "created"}.
//
//	event_id       ← id
//	event_type     ← eventName, as is (e.g. "order-created_event-v1")
//	schema_version ← N of a trailing "-vN" / "_vN" in eventName, else NULL
//	domain         ← eventName up to its first '-' or '_', lower-cased
//	                 ("order-created_event-v1" → "order"; "PICK_JOB_CREATED" → "pick")
//	event_time     ← created
//	data           ← payload (raw JSON)
//	org_id, cid    ← NULL (the export is per tenant; set org_id with a generic profile if needed)
type Fulfillmenttools struct{}

// Name implements Profile.
func (Fulfillmenttools) Name() string { return "fulfillmenttools" }

// Match implements Profile.
func (Fulfillmenttools) Match(rec []byte) bool { return hasKeys(rec, "id", "eventName", "created") }

const (
	fID = 1 << iota
	fName
	fPayload
	fCreated
)

// Map implements Profile.
func (f Fulfillmenttools) Map(rec []byte, ev *Event) error { return f.mapRecord(rec, ev, nil) }

// MapObserving implements ObservingMapper: the payload is typed while it is
// validated when eventName comes before it (as the export writes them).
func (f Fulfillmenttools) MapObserving(rec []byte, ev *Event, obs DataObserver) error {
	return f.mapRecord(rec, ev, obs)
}

// MapObservingPrefix implements PrefixMapper.
func (f Fulfillmenttools) MapObservingPrefix(b []byte, ev *Event, obs DataObserver) (int, error) {
	return mapPrefix(b, ev, obs, f.mapRecord)
}

func (Fulfillmenttools) mapRecord(rec []byte, ev *Event, obs DataObserver) error {
	ev.reset()
	var seen int
	err := members(rec, ev, "payload", obs, func(key, raw []byte) error {
		var bit int
		var ferr error
		v, t := value(raw)
		switch string(key) {
		case "id":
			bit = fID
			ev.EventID, ferr = ev.str("id", v, t)
		case "eventName":
			bit = fName
			ev.EventType, ferr = ev.str("eventName", v, t)
			if obs != nil && ferr == nil && seen&fName == 0 {
				ev.Domain = ftDomain(ev) // the payload's type is keyed by it
			}
		case "payload":
			bit = fPayload
			ev.Data = raw
		case "created":
			bit = fCreated
			ferr = ev.timestamp("created", v, t)
		default:
			return nil
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w %q", ErrDuplicateField, key)
		}
		seen |= bit
		return ferr
	})
	if err != nil {
		return recordError(err)
	}
	if len(ev.EventID) == 0 {
		return fmt.Errorf("%w id", ErrMissingField)
	}
	if seen&fCreated == 0 {
		return fmt.Errorf("%w created", ErrMissingField)
	}
	ev.SchemaVersion, ev.HasSchemaVersion = versionSuffix(ev.EventType)
	ev.Domain = ftDomain(ev)
	if ev.Data == nil {
		ev.Data = nullJSON
	}
	return checkData(ev.Data)
}

// ftDomain derives the domain from the event name (see Fulfillmenttools).
func ftDomain(ev *Event) []byte {
	name := ev.EventType
	lower, ascii := true, true
	for i, c := range name {
		if c == '-' || c == '_' {
			name = name[:i]
			break
		}
		if c >= 'A' && c <= 'Z' {
			lower = false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if len(name) == 0 {
		return nil
	}
	if lower {
		return name
	}
	start := len(ev.scratch)
	if !ascii {
		ev.scratch = append(ev.scratch, bytes.ToLower(name)...)
		return ev.scratch[start:]
	}
	// ASCII (every name seen): lowered into the event's scratch a byte at
	// a time, with no allocation per record (bytes.ToLower's and
	// IndexAny's were 1 % of a fulfillmenttools load's CPU).
	for _, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		ev.scratch = append(ev.scratch, c)
	}
	return ev.scratch[start:]
}
