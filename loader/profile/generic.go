package profile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/buger/jsonparser"

	"github.com/eventlake/eventlake/config"
)

type field struct {
	name     string
	path     []string
	constant []byte
	set      bool
}

func parseField(name, spec string) field {
	f := field{name: name}
	switch {
	case spec == "":
	case strings.HasPrefix(spec, "="):
		f.constant, f.set = []byte(spec[1:]), true
	default:
		f.path, f.set = strings.Split(spec, "."), true
	}
	return f
}

// Generic maps records with a configured config.Mapping.
type Generic struct {
	name   string
	fields [8]field // order: id, type, domain, ts, data, org, cid, version
	paths  [][]string
	index  []int // paths[i] belongs to fields[index[i]]
	whole  bool  // data is the whole record
}

// NewGeneric builds a generic profile called name from its configured
// mapping (checked as config.Mapping.Validate does).
func NewGeneric(name string, m config.Mapping) (*Generic, error) {
	if err := m.Validate(name); err != nil {
		return nil, err
	}
	g := &Generic{name: name}
	specs := []string{m.EventID, m.EventType, m.Domain, m.Timestamp, m.Data, m.OrgID, m.CID, m.SchemaVersion}
	names := []string{"event_id", "event_type", "domain", "timestamp", "data", "org_id", "cid", "schema_version"}
	for i, s := range specs {
		if i == 4 && (s == "" || s == "$") {
			g.whole = true
			continue
		}
		g.fields[i] = parseField(names[i], s)
		if g.fields[i].path != nil {
			g.paths = append(g.paths, g.fields[i].path)
			g.index = append(g.index, i)
		}
	}
	return g, nil
}

// Name implements Profile.
func (g *Generic) Name() string { return g.name }

// Match implements Profile: the record has the event_id and timestamp paths.
func (g *Generic) Match(rec []byte) bool {
	_, _, _, e1 := jsonparser.Get(rec, g.fields[0].path...)
	_, _, _, e2 := jsonparser.Get(rec, g.fields[3].path...)
	return e1 == nil && e2 == nil
}

// Map implements Profile.
func (g *Generic) Map(rec []byte, ev *Event) error {
	ev.reset()
	if err := validate(rec); err != nil {
		return err
	}
	var values [8][]byte
	var types [8]jsonparser.ValueType
	var found [8]bool
	var perr error
	jsonparser.EachKey(rec, func(idx int, v []byte, t jsonparser.ValueType, err error) {
		if err != nil {
			if perr == nil && !errors.Is(err, jsonparser.KeyPathNotFoundError) {
				perr = err
			}
			return
		}
		i := g.index[idx]
		if t == jsonparser.String && i == 4 {
			// keep data strings quoted: find them again with Get's offsets
			if raw, _, off, e := jsonparser.Get(rec, g.fields[4].path...); e == nil {
				v = rec[off-len(raw)-2 : off]
			}
		}
		values[i], types[i], found[i] = v, t, true
	}, g.paths...)
	if perr != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, perr)
	}
	var err error
	for i := range g.fields {
		f := &g.fields[i]
		if f.constant != nil {
			values[i], types[i], found[i] = f.constant, jsonparser.String, true
		}
	}
	if !found[0] {
		return fmt.Errorf("%w %s (event_id)", ErrMissingField, g.fields[0].name)
	}
	if ev.EventID, err = ev.str("event_id", values[0], types[0]); err != nil {
		return err
	}
	if len(ev.EventID) == 0 {
		return fmt.Errorf("%w event_id", ErrMissingField)
	}
	if !found[3] {
		return fmt.Errorf("%w timestamp (%s)", ErrMissingField, strings.Join(g.fields[3].path, "."))
	}
	if err = ev.timestamp("timestamp", values[3], types[3]); err != nil {
		return err
	}
	if found[1] {
		if ev.EventType, err = ev.str("event_type", values[1], types[1]); err != nil {
			return err
		}
	}
	if found[2] {
		if ev.Domain, err = ev.str("domain", values[2], types[2]); err != nil {
			return err
		}
	}
	if found[5] {
		if ev.OrgID, err = ev.str("org_id", values[5], types[5]); err != nil {
			return err
		}
	}
	if found[6] {
		if ev.CID, err = ev.str("cid", values[6], types[6]); err != nil {
			return err
		}
	}
	if found[7] {
		ev.version(values[7], types[7])
	} else if len(ev.EventType) > 0 {
		ev.SchemaVersion, ev.HasSchemaVersion = versionSuffix(ev.EventType)
	}
	switch {
	case g.whole:
		ev.Data = rec
	case found[4]:
		ev.Data = values[4]
	default:
		ev.Data = nullJSON
	}
	return checkData(ev.Data)
}
