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

// Map implements Profile.
func (Pismo) Map(rec []byte, ev *Event) error {
	ev.reset()
	if err := validate(rec); err != nil {
		return err
	}
	var seen int
	var ferr error
	err := jsonparser.ObjectEach(rec, func(key, v []byte, t jsonparser.ValueType, end int) error {
		var bit int
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
			ev.Data = rawValue(rec, v, t, end)
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
		return err
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
	return nil
}

var nullJSON = []byte("null")

// rawValue returns a value's raw JSON text. jsonparser strips the quotes of
// strings; end is the offset just past the value in rec (as ObjectEach
// reports it), so the quoted text is rec[end-len(v)-2:end].
func rawValue(rec, v []byte, t jsonparser.ValueType, end int) []byte {
	if t == jsonparser.String {
		return rec[end-len(v)-2 : end]
	}
	return v
}
