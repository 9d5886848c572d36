package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// maxSchemaNodes bounds the types FromJSONSchema builds, so a document whose
// $refs fan out (each definition referring several times to the next) cannot
// expand exponentially.
const maxSchemaNodes = 100000

// FromJSONSchema builds a Type from a JSON Schema (draft-07) document, as
// Pismo publishes under json_schemas/<domain>/<event_type>.json.
//
// It understands "type" (a string or an array, where "null" only makes the
// column nullable), "properties" (fields in document order), "items" (a
// schema, or a tuple whose schemas are widened together), "format":
// "date-time" → Timestamp, "integer" → Int, "number" → Float, "enum" and
// "const" (typed from their values when there is no "type"), local "$ref"s
// to "#/definitions/…" or any other JSON pointer into the document, and
// oneOf / anyOf / allOf, whose alternatives are widened with the same rules
// as Merge (for allOf this is the union of the parts' properties). A schema
// without any of these accepts any value and is JSON; so are remote $refs,
// the point where a $ref cycle closes, and whatever MaxFields or
// MaxTypeDepth cut off. Errors: a document that is not valid JSON or not a
// schema object, a local $ref that does not resolve, and a document that
// expands to more than 100000 types.
func FromJSONSchema(doc []byte) (*Type, error) {
	if err := Validate(doc); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	root, err := parseTree(doc)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	if root.kind != nodeObject && root.kind != nodeBool {
		return nil, errors.New("json schema: the document is not a schema object")
	}
	// The root counts as being expanded, so a "#" self-reference closes the
	// cycle at once.
	c := schemaConv{root: root, active: map[*node]bool{root: true}}
	t, err := c.convert(root, 1, "#")
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return t, nil
}

type nodeKind uint8

const (
	nodeNull nodeKind = iota
	nodeBool
	nodeNumber
	nodeString
	nodeArray
	nodeObject
)

// node is a parsed JSON value that keeps object members in document order.
type node struct {
	kind  nodeKind
	b     bool
	s     string // string value, or number literal
	keys  []string
	vals  []*node // object member values, or array elements
	isInt bool    // number without fraction or exponent
}

// get returns the value of member key (the last one if repeated, as
// encoding/json does), or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != nodeObject {
		return nil
	}
	for j := len(n.keys) - 1; j >= 0; j-- {
		if n.keys[j] == key {
			return n.vals[j]
		}
	}
	return nil
}

// parseTree parses validated JSON into an ordered tree. Containers are
// built with an explicit stack, since the document may nest up to MaxDepth
// levels.
func parseTree(doc []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		n       *node
		key     string // the member key awaiting its value (objects)
		haveKey bool
	}
	var stack []frame
	var root *node
	add := func(v *node) {
		if len(stack) == 0 {
			root = v
			return
		}
		top := &stack[len(stack)-1]
		if top.n.kind == nodeObject {
			top.n.keys = append(top.n.keys, top.key)
			top.haveKey = false
		}
		top.n.vals = append(top.n.vals, v)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF && root != nil && len(stack) == 0 {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		if len(stack) > 0 {
			if top := &stack[len(stack)-1]; top.n.kind == nodeObject && !top.haveKey {
				if k, ok := tok.(string); ok {
					top.key, top.haveKey = k, true
					continue
				}
			}
		}
		var v *node
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, frame{n: &node{kind: nodeObject}})
			case '[':
				stack = append(stack, frame{n: &node{kind: nodeArray}})
			default: // '}' or ']'
				done := stack[len(stack)-1].n
				stack = stack[:len(stack)-1]
				add(done)
			}
			continue
		case string:
			v = &node{kind: nodeString, s: x}
		case json.Number:
			v = &node{kind: nodeNumber, s: string(x), isInt: !strings.ContainsAny(string(x), ".eE")}
		case bool:
			v = &node{kind: nodeBool, b: x}
		default:
			v = &node{kind: nodeNull}
		}
		add(v)
	}
}

type schemaConv struct {
	root   *node
	active map[*node]bool // $ref targets being expanded (cycle guard)
	nodes  int
}

func (c *schemaConv) convert(s *node, depth int, path string) (*Type, error) {
	c.nodes++
	if c.nodes > maxSchemaNodes {
		return nil, fmt.Errorf("the schema expands to more than %d types (at %s)", maxSchemaNodes, path)
	}
	if s.kind == nodeBool {
		if s.b {
			return &Type{Kind: JSON}, nil // true: any value
		}
		return &Type{}, nil // false: no value, so only ever null
	}
	if s.kind != nodeObject {
		return nil, fmt.Errorf("%s: a schema must be an object or a boolean", path)
	}
	if ref := s.get("$ref"); ref != nil {
		// draft-07: a $ref's sibling keywords are ignored.
		if ref.kind != nodeString {
			return nil, fmt.Errorf("%s: $ref is not a string", path)
		}
		if !strings.HasPrefix(ref.s, "#") {
			return &Type{Kind: JSON}, nil // remote reference: not followed
		}
		target, err := c.resolve(ref.s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if c.active[target] {
			return &Type{Kind: JSON}, nil // the cycle closes here
		}
		c.active[target] = true
		t, err := c.convert(target, depth, ref.s)
		delete(c.active, target)
		return t, err
	}

	t := &Type{}
	known := false // whether any keyword constrained the shape
	if ty := s.get("type"); ty != nil {
		var names []*node
		switch ty.kind {
		case nodeString:
			names = []*node{ty}
		case nodeArray:
			names = ty.vals
		default:
			return nil, fmt.Errorf("%s: \"type\" is neither a string nor an array", path)
		}
		for _, n := range names {
			if n.kind != nodeString {
				return nil, fmt.Errorf("%s: \"type\" lists a non-string", path)
			}
			u, err := c.typeNamed(n.s, s, depth, path)
			if err != nil {
				return nil, err
			}
			t.merge(u, depth)
		}
		known = true
	} else {
		switch {
		case s.get("properties") != nil || s.get("additionalProperties") != nil ||
			s.get("patternProperties") != nil || s.get("required") != nil:
			u, err := c.typeNamed("object", s, depth, path)
			if err != nil {
				return nil, err
			}
			t.merge(u, depth)
			known = true
		case s.get("items") != nil:
			u, err := c.typeNamed("array", s, depth, path)
			if err != nil {
				return nil, err
			}
			t.merge(u, depth)
			known = true
		}
		for _, kw := range []string{"enum", "const"} {
			v := s.get(kw)
			if v == nil {
				continue
			}
			vals := []*node{v}
			if kw == "enum" {
				if v.kind != nodeArray {
					return nil, fmt.Errorf("%s: \"enum\" is not an array", path)
				}
				vals = v.vals
			}
			for _, x := range vals {
				t.merge(valueType(x), depth)
			}
			known = true
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		alts := s.get(kw)
		if alts == nil {
			continue
		}
		if alts.kind != nodeArray {
			return nil, fmt.Errorf("%s: %q is not an array", path, kw)
		}
		for j, a := range alts.vals {
			u, err := c.convert(a, depth, path+"/"+kw+"/"+strconv.Itoa(j))
			if err != nil {
				return nil, err
			}
			t.merge(u, depth)
		}
		known = true
	}
	if !known {
		t.Kind = JSON // no constraint: any value
	}
	return t, nil
}

// typeNamed converts one "type" name of schema s.
func (c *schemaConv) typeNamed(name string, s *node, depth int, path string) (*Type, error) {
	switch name {
	case "null":
		return &Type{}, nil
	case "boolean":
		return &Type{Kind: Bool}, nil
	case "integer":
		return &Type{Kind: Int}, nil
	case "number":
		return &Type{Kind: Float}, nil
	case "string":
		if f := s.get("format"); f != nil && f.kind == nodeString && f.s == "date-time" {
			return &Type{Kind: Timestamp}, nil
		}
		return &Type{Kind: String}, nil
	case "object":
		t := &Type{Kind: Object}
		if depth > MaxTypeDepth {
			t.Kind = JSON
			return t, nil
		}
		props := s.get("properties")
		if props == nil {
			return t, nil // no known fields: the views show it as JSON
		}
		if props.kind != nodeObject {
			return nil, fmt.Errorf("%s: \"properties\" is not an object", path)
		}
		for j, name := range props.keys {
			j := lastIndex(props, name, j)
			if j < 0 {
				continue // a repeated key: the last one wins
			}
			ppath := path + "/properties/" + escapePointer(name)
			ft, err := c.convert(props.vals[j], depth+1, ppath)
			if err != nil {
				return nil, err
			}
			if fi := t.findField([]byte(name)); fi >= 0 || !t.representable([]byte(name)) {
				continue
			}
			if len(t.Fields) >= MaxFields {
				t.setJSON()
				return t, nil
			}
			t.addField(name).Type = ft
		}
		return t, nil
	case "array":
		t := &Type{Kind: Array, Elem: &Type{}}
		if depth > MaxTypeDepth {
			return &Type{Kind: JSON}, nil
		}
		items := s.get("items")
		switch {
		case items == nil:
		case items.kind == nodeArray: // tuple validation
			for j, it := range items.vals {
				e, err := c.convert(it, depth+1, path+"/items/"+strconv.Itoa(j))
				if err != nil {
					return nil, err
				}
				t.Elem.merge(e, depth+1)
			}
		default:
			e, err := c.convert(items, depth+1, path+"/items")
			if err != nil {
				return nil, err
			}
			t.Elem = e
		}
		return t, nil
	}
	// An unknown type name: accept any value rather than fail the schema.
	return &Type{Kind: JSON}, nil
}

// lastIndex returns j if props.keys[j] is the last occurrence of name, else -1.
func lastIndex(props *node, name string, j int) int {
	for k := j + 1; k < len(props.keys); k++ {
		if props.keys[k] == name {
			return -1
		}
	}
	return j
}

// valueType is the type of an enum / const value.
func valueType(v *node) *Type {
	switch v.kind {
	case nodeBool:
		return &Type{Kind: Bool}
	case nodeNumber:
		if v.isInt && isInt64([]byte(v.s)) {
			return &Type{Kind: Int}
		}
		return &Type{Kind: Float}
	case nodeString:
		if isTimestamp([]byte(v.s)) {
			return &Type{Kind: Timestamp}
		}
		return &Type{Kind: String}
	case nodeArray, nodeObject:
		return &Type{Kind: JSON}
	}
	return &Type{}
}

// resolve follows a local JSON pointer reference such as
// "#/definitions/address".
func (c *schemaConv) resolve(ref string) (*node, error) {
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, fmt.Errorf("$ref %q: %v", ref, err)
	}
	n := c.root
	if frag == "" {
		return n, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, fmt.Errorf("$ref %q: only JSON pointers (#/…) are supported", ref)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var next *node
		switch n.kind {
		case nodeObject:
			next = n.get(tok)
		case nodeArray:
			if j, err := strconv.Atoi(tok); err == nil && j >= 0 && j < len(n.vals) {
				next = n.vals[j]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("$ref %q does not resolve (no %q)", ref, tok)
		}
		n = next
	}
	return n, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
