package profile

import (
	"fmt"

	"github.com/buger/jsonparser"
)

// Pismo maps the Pismo event envelope (seed 001):
//
//	{"event_id", "domain", "event_type", "schema_version", "org_id", "cid", "timestamp", "data"}
//
// event_id and timestamp are required; schema_version may be a number or a
// string and, when absent, is taken from the event_type's "-N" suffix; data
// is kept as raw JSON bytes (null when absent). A repeated envelope key is a
// reject: which value is meant is ambiguous.
type Pismo struct{}

// Name implements Profile.
func (Pismo) Name() string { return "pismo" }

// Match implements Profile.
func (Pismo) Match(rec []byte) bool { return hasKeys(rec, "event_id", "timestamp") }

const (
	pEventID = 1 << iota
	pDomain
	pEventType
	pVersion
	pOrg
	pCID
	pTimestamp
	pData
)

// Map implements Profile. One pass validates the record and visits its
// top-level members (schema.Members).
func (p Pismo) Map(rec []byte, ev *Event) error { return p.mapRecord(rec, ev, nil) }

// MapObserving implements ObservingMapper.
func (p Pismo) MapObserving(rec []byte, ev *Event, obs DataObserver) error {
	return p.mapRecord(rec, ev, obs)
}

// MapObservingPrefix implements PrefixMapper.
func (p Pismo) MapObservingPrefix(b []byte, ev *Event, obs DataObserver) (int, error) {
	return mapPrefix(b, ev, obs, p.mapRecord)
}

func (Pismo) mapRecord(rec []byte, ev *Event, obs DataObserver) error {
	ev.reset()
	var seen int
	err := members(rec, ev, "data", obs, func(key, raw []byte) error {
		var bit int
		var ferr error
		v, t := value(raw)
		switch string(key) {
		case "event_id":
			bit = pEventID
			ev.EventID, ferr = ev.str("event_id", v, t)
		case "domain":
			bit = pDomain
			ev.Domain, ferr = ev.str("domain", v, t)
		case "event_type":
			bit = pEventType
			ev.EventType, ferr = ev.str("event_type", v, t)
		case "schema_version":
			bit = pVersion
			ev.version(v, t)
		case "org_id":
			bit = pOrg
			ev.OrgID, ferr = ev.str("org_id", v, t)
		case "cid":
			bit = pCID
			ev.CID, ferr = ev.str("cid", v, t)
		case "timestamp":
			bit = pTimestamp
			ferr = ev.timestamp("timestamp", v, t)
		case "data":
			bit = pData
			ev.Data = raw
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
		return fmt.Errorf("%w event_id", ErrMissingField)
	}
	if seen&pTimestamp == 0 {
		return fmt.Errorf("%w timestamp", ErrMissingField)
	}
	if !ev.HasSchemaVersion {
		ev.SchemaVersion, ev.HasSchemaVersion = versionSuffix(ev.EventType)
	}
	if ev.Data == nil {
		ev.Data = nullJSON
	}
	return checkData(ev.Data)
}

var nullJSON = []byte("null")

// value classifies a raw JSON value (as schema.Members hands it over) the
// way the field helpers expect: strings without their quotes.
func value(raw []byte) ([]byte, jsonparser.ValueType) {
	if len(raw) == 0 {
		return raw, jsonparser.NotExist
	}
	switch raw[0] {
	case '"':
		return raw[1 : len(raw)-1], jsonparser.String
	case '{':
		return raw, jsonparser.Object
	case '[':
		return raw, jsonparser.Array
	case 't', 'f':
		return raw, jsonparser.Boolean
	case 'n':
		return raw, jsonparser.Null
	}
	return raw, jsonparser.Number
}
