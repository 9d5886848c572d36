package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/eventlake/eventlake/internal/jsonstr"
)

// MarshalJSON encodes t compactly and deterministically for the catalog:
//
//	{"kind":"object","fields":[{"name":"card_id","type":{"kind":"int"}}]}
//	{"kind":"array","elem":{"kind":"string"}}
//
// Members appear in this fixed order; "fields" is written only for objects
// that have fields and "elem" only for arrays that have an element type, so
// equal types always encode to equal bytes. A nil *Type encodes as
// {"kind":"unknown"}.
func (t *Type) MarshalJSON() ([]byte, error) {
	return t.appendJSON(make([]byte, 0, 64), 0)
}

func (t *Type) appendJSON(dst []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("schema: type nesting deeper than %d (cyclic type?)", MaxDepth)
	}
	k := kindOf(t)
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("schema: cannot encode invalid kind %d", k)
	}
	dst = append(dst, `{"kind":"`...)
	dst = append(dst, kindNames[k]...)
	dst = append(dst, '"')
	var err error
	switch k {
	case Object:
		if len(t.Fields) == 0 {
			break
		}
		dst = append(dst, `,"fields":[`...)
		for j, f := range t.Fields {
			if f == nil {
				return nil, fmt.Errorf("schema: cannot encode nil field %d", j)
			}
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = jsonstr.Append(dst, f.Name)
			dst = append(dst, `,"type":`...)
			if dst, err = f.Type.appendJSON(dst, depth+1); err != nil {
				return nil, err
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	case Array:
		if t.Elem == nil {
			break
		}
		dst = append(dst, `,"elem":`...)
		if dst, err = t.Elem.appendJSON(dst, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// wireType is the catalog encoding, decoded strictly.
type wireType struct {
	Kind   *string     `json:"kind"`
	Fields []wireField `json:"fields"`
	Elem   *wireType   `json:"elem"`
}

type wireField struct {
	Name *string   `json:"name"`
	Type *wireType `json:"type"`
}

// UnmarshalJSON decodes the encoding written by MarshalJSON, replacing t
// entirely. It is strict, because the catalog must never yield a type the
// views cannot use: unknown members or kinds, fields on a non-object, an
// element on a non-array, more than MaxFields fields, nesting deeper than
// MaxTypeDepth, and field names that are empty, contain NUL or repeat
// (ignoring case) are errors. On error t is left unchanged.
func (t *Type) UnmarshalJSON(b []byte) error {
	if t == nil {
		return errors.New("schema: UnmarshalJSON on a nil *Type")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireType
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("schema: decoding type: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("schema: decoding type: trailing data after the type")
	}
	nt, err := fromWire(&w, 1, "$")
	if err != nil {
		return err
	}
	*t = *nt
	return nil
}

func fromWire(w *wireType, depth int, path string) (*Type, error) {
	if w == nil {
		return nil, fmt.Errorf("schema: decoding type: %s: null type", path)
	}
	if w.Kind == nil {
		return nil, fmt.Errorf("schema: decoding type: %s: missing \"kind\"", path)
	}
	k, ok := kindByName(*w.Kind)
	if !ok {
		return nil, fmt.Errorf("schema: decoding type: %s: unknown kind %q", path, *w.Kind)
	}
	t := &Type{Kind: k}
	if w.Fields != nil && k != Object {
		return nil, fmt.Errorf("schema: decoding type: %s: \"fields\" on a %s type", path, k)
	}
	if w.Elem != nil && k != Array {
		return nil, fmt.Errorf("schema: decoding type: %s: \"elem\" on a %s type", path, k)
	}
	if (k == Object || k == Array) && depth > MaxTypeDepth {
		return nil, fmt.Errorf("schema: decoding type: %s: nesting deeper than %d", path, MaxTypeDepth)
	}
	switch k {
	case Object:
		if len(w.Fields) > MaxFields {
			return nil, fmt.Errorf("schema: decoding type: %s: %d fields, more than %d", path, len(w.Fields), MaxFields)
		}
		for j := range w.Fields {
			wf := &w.Fields[j]
			if wf.Name == nil {
				return nil, fmt.Errorf("schema: decoding type: %s.fields[%d]: missing \"name\"", path, j)
			}
			name := *wf.Name
			fpath := path + "." + string(jsonstr.Append(nil, name))
			if !t.representable([]byte(name)) {
				return nil, fmt.Errorf("schema: decoding type: %s: field name is empty, contains NUL or repeats another ignoring case", fpath)
			}
			ft, err := fromWire(wf.Type, depth+1, fpath)
			if err != nil {
				return nil, err
			}
			f := t.addField(name)
			f.Type = ft
		}
	case Array:
		if w.Elem != nil {
			e, err := fromWire(w.Elem, depth+1, path+"[]")
			if err != nil {
				return nil, err
			}
			t.Elem = e
		}
	}
	return t, nil
}

func kindByName(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}
