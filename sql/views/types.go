package views

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/schema"
)

// typeTree holds the declared column types (config tables.<view>.types)
// by data path: "data.fee.value" → children["fee"].children["value"].typ.
type typeTree struct {
	typ      string
	children map[string]*typeTree
}

func newTypeTree(types map[string]string) *typeTree {
	root := &typeTree{}
	for path, typ := range types {
		rest, ok := strings.CutPrefix(path, "data.")
		if !ok || rest == "" {
			continue // config.Validate refuses these
		}
		n := root
		for _, p := range strings.Split(rest, ".") {
			if n.children == nil {
				n.children = map[string]*typeTree{}
			}
			c := n.children[p]
			if c == nil {
				c = &typeTree{}
				n.children[p] = c
			}
			n = c
		}
		n.typ = typ
	}
	return root
}

// withTypes returns the top-level field names of data (those of t, then
// declared ones t lacks) and the from_json structure of t in which every
// declared path has its declared type. Without declarations it is t's own
// structure.
func withTypes(t *schema.Type, types map[string]string) (names []string, structure string) {
	tree := newTypeTree(types)
	if t != nil && t.Kind == schema.Object {
		for _, f := range t.Fields {
			names = append(names, f.Name)
		}
	}
	if len(tree.children) == 0 {
		if len(names) == 0 {
			return nil, ""
		}
		return names, t.Structure()
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	for n := range tree.children {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	names = append(names, extra...)
	return names, structureOf(t, tree)
}

func structureOf(t *schema.Type, n *typeTree) string {
	if n == nil {
		if t == nil {
			return `"JSON"`
		}
		return t.Structure()
	}
	if n.typ != "" {
		return jsonString(n.typ)
	}
	var b strings.Builder
	b.WriteByte('{')
	seen := map[string]bool{}
	write := func(name string, s string) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(name))
		b.WriteByte(':')
		b.WriteString(s)
	}
	if t != nil && t.Kind == schema.Object {
		for _, f := range t.Fields {
			seen[f.Name] = true
			write(f.Name, structureOf(f.Type, n.children[f.Name]))
		}
	}
	var extra []string
	for name := range n.children {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		write(name, structureOf(nil, n.children[name]))
	}
	b.WriteByte('}')
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
