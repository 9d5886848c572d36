package loader

import (
	"context"
	"sort"
	"unsafe"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/schema"
)

// Schemas of event data are inferred while loading: each worker widens one
// type per (domain, event_type) with every record's data, the load merges
// the workers' types with the catalog's, and the commit stores the ones
// that changed. The SQL views read them back to type their columns.

// schemaKey is the catalog key of an event type's schema.
func schemaKey(domain, eventType string) string { return domain + "/" + eventType }

// observedType is one worker's inferred type of an event type.
type observedType struct {
	t      *schema.Type
	object string // first object of this load that had the event type
}

// typeKey identifies an event type within a worker (no string building on
// the hot path; schemaKey makes the catalog key once, at merge).
type typeKey struct{ domain, eventType string }

// typeObserver is one worker's inferred types, by event type.
type typeObserver struct {
	types  map[typeKey]*observedType
	undo   typeUndo  // what ObserveData changed for the record being mapped
	object string    // the object being read (for a type's first object)
	intern *interner // the worker's

	// keys finds an event type's interned key by its raw domain and event
	// type ("domain\x00event_type" in scratch): one map look-up per
	// record instead of interning both halves first.
	keys    map[string]typeKey
	scratch []byte
}

// key returns the interned key of (domain, eventType).
func (ob *typeObserver) key(domain, eventType []byte) typeKey {
	ob.scratch = append(append(append(ob.scratch[:0], domain...), 0), eventType...)
	if k, ok := ob.keys[string(ob.scratch)]; ok {
		return k
	}
	if ob.keys == nil || len(ob.keys) > 50000 {
		ob.keys = map[string]typeKey{}
	}
	k := typeKey{ob.intern.str(domain), ob.intern.str(eventType)}
	ob.keys[string(ob.scratch)] = k
	return k
}

// recordKey returns the interned key of the current record's (domain,
// eventType): the one ObserveData typed its data under, when it did.
func (ob *typeObserver) recordKey(domain, eventType []byte) typeKey {
	if k := ob.undo.key; ob.undo.set && k.domain == string(domain) && k.eventType == string(eventType) {
		return k
	}
	return ob.key(domain, eventType)
}

// begin starts a record of object.
func (ob *typeObserver) begin(object string) {
	ob.undo = typeUndo{}
	ob.object = object
}

// observe widens the worker's type of (domain, eventType) by data.
func (ob *typeObserver) observe(domain, eventType, data, object string) {
	k := typeKey{domain, eventType}
	o, ok := ob.types[k]
	if !ok {
		o = &observedType{t: &schema.Type{}, object: object}
		ob.types[k] = o
	}
	// data is valid JSON (the profile validated it); an error here would be
	// a bug in one of the two, and must not fail the load.
	_ = o.t.Observe(unsafe.Slice(unsafe.StringData(data), len(data)))
}

// typeUndo records how to take back one record's widening.
type typeUndo struct {
	key     typeKey
	set     bool
	created bool         // the record created the type: delete it
	prev    *schema.Type // the type before the record (nil: unchanged)
}

// ObserveData implements profile.DataObserver: it validates the data value
// at b[i] and widens the type of (domain, eventType) by it in one walk,
// remembering how to take it back if the record is rejected later.
func (ob *typeObserver) ObserveData(domain, eventType, b []byte, i int) (int, error) {
	if ob.undo.set {
		return -1, nil // a second data member: validated plainly (the profile rejects the record)
	}
	k := ob.key(domain, eventType)
	o, ok := ob.types[k]
	if !ok {
		o = &observedType{t: &schema.Type{}, object: ob.object}
	}
	end, prev, err := o.t.ObserveStrictAt(b, i, schema.MaxDepth-1)
	if err != nil {
		return 0, err
	}
	if !ok {
		ob.types[k] = o
	}
	ob.undo = typeUndo{key: k, set: true, created: !ok, prev: prev}
	return end, nil
}

// rollback takes back what ObserveData widened for the current record.
func (ob *typeObserver) rollback() {
	u := ob.undo
	ob.undo = typeUndo{}
	switch {
	case !u.set:
	case u.created:
		delete(ob.types, u.key)
	case u.prev != nil:
		*ob.types[u.key].t = *u.prev
	}
}

// mergeTypes folds the workers' types into the load (workers are done).
func (l *load) mergeTypes(workers []*worker) {
	l.types = map[string]*observedType{}
	for _, w := range workers {
		for tk, o := range w.obs.types {
			k := schemaKey(tk.domain, tk.eventType)
			if cur, ok := l.types[k]; ok {
				cur.t.Merge(o.t)
				if o.object < cur.object {
					cur.object = o.object
				}
				continue
			}
			l.types[k] = o
		}
	}
}

// schemas returns the schema records (event data types, CSV table columns)
// that are new or wider than the catalog's.
func (l *load) schemas(ctx context.Context, results []result) ([]catalog.SchemaRecord, error) {
	stored, err := l.cat.Schemas(ctx, "")
	if err != nil {
		return nil, err
	}
	out, err := l.tableSchemas(stored, results)
	if err != nil {
		return nil, err
	}
	old := map[string]*schema.Type{}
	for _, s := range stored {
		if s.Table != "events" {
			continue
		}
		t := &schema.Type{}
		if err := t.UnmarshalJSON([]byte(s.JSON)); err == nil {
			old[s.Key] = t
		}
	}
	var keys []string
	for k := range l.types {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := l.types[k]
		t := o.t
		if prev, ok := old[k]; ok {
			merged := prev.Clone()
			merged.Merge(t)
			if merged.Equal(prev) {
				continue
			}
			t = merged
		}
		js, err := t.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out = append(out, catalog.SchemaRecord{Table: "events", Key: k, JSON: string(js), Source: "inferred", ChangedByObject: o.object})
	}
	return out, nil
}
