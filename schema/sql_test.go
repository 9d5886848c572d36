package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSQLTypes(t *testing.T) {
	obs := observeAll(t, `{"card_id":1,"amount":{"value":1.5,"currency":"BRL"},"tags":["a"],"at":"2024-02-01T09:20:39Z",`+
		`"ok":true,"x":null,"m":[1,"a"],"e":{},"l":[],"n":[[1]],"objs":[{"k":1}],"big":1e400}`)
	hostile := &Type{Kind: Object, Fields: []*Field{
		{Name: `x"; drop table y; --`, Type: &Type{Kind: Int}},
		{Name: "", Type: &Type{Kind: Int}}, // cannot be an identifier: skipped
		{Name: "a`b", Type: &Type{Kind: String}},
		{Name: "with space", Type: &Type{Kind: Bool}},
		{Name: "dot.ted", Type: &Type{Kind: Float}},
		{Name: "X\"; DROP TABLE Y; --", Type: &Type{Kind: Int}}, // same ignoring case as the first: skipped
		{Name: "nul\x00byte", Type: &Type{Kind: Int}},           // skipped
		{Name: "new\nline'q", Type: &Type{Kind: Timestamp}},
		{Name: "123abc", Type: &Type{Kind: Int}},
		{Name: "ünï", Type: &Type{Kind: Object, Fields: []*Field{{Name: "Ok_1", Type: &Type{Kind: Int}}}}},
		{Name: "ÜNÏ", Type: &Type{Kind: Int}}, // Unicode case folding: skipped
		{Name: "nilType", Type: nil},
		{Name: "arr", Type: &Type{Kind: Array}},
	}}
	for _, c := range []struct {
		name                  string
		ty                    *Type
		duck, structure, hive string
	}{
		{"observed", obs,
			`STRUCT("card_id" BIGINT, "amount" STRUCT("value" DOUBLE, "currency" VARCHAR), "tags" VARCHAR[], "at" TIMESTAMPTZ, ` +
				`"ok" BOOLEAN, "x" JSON, "m" JSON[], "e" JSON, "l" JSON[], "n" BIGINT[][], "objs" STRUCT("k" BIGINT)[], "big" DOUBLE)`,
			`{"card_id":"BIGINT","amount":{"value":"DOUBLE","currency":"VARCHAR"},"tags":["VARCHAR"],"at":"TIMESTAMPTZ",` +
				`"ok":"BOOLEAN","x":"JSON","m":["JSON"],"e":"JSON","l":["JSON"],"n":[["BIGINT"]],"objs":[{"k":"BIGINT"}],"big":"DOUBLE"}`,
			`struct<card_id:bigint,amount:struct<value:double,currency:string>,tags:array<string>,at:timestamp,` +
				`ok:boolean,x:string,m:array<string>,e:string,l:array<string>,n:array<array<bigint>>,objs:array<struct<k:bigint>>,big:double>`},
		{"hostile names", hostile,
			`STRUCT("x""; drop table y; --" BIGINT, "a` + "`" + `b" VARCHAR, "with space" BOOLEAN, "dot.ted" DOUBLE, ` +
				`"new` + "\n" + `line'q" TIMESTAMPTZ, "123abc" BIGINT, "ünï" STRUCT("Ok_1" BIGINT), "nilType" JSON, "arr" JSON[])`,
			`{"x\"; drop table y; --":"BIGINT","a` + "`" + `b":"VARCHAR","with space":"BOOLEAN","dot.ted":"DOUBLE",` +
				`"new\nline'q":"TIMESTAMPTZ","123abc":"BIGINT","ünï":{"Ok_1":"BIGINT"},"nilType":"JSON","arr":["JSON"]}`,
			"struct<`x\"; drop table y; --`:bigint,`a``b`:string,`with space`:boolean,`dot.ted`:double," +
				"`new\nline'q`:timestamp,`123abc`:bigint,`ünï`:struct<Ok_1:bigint>,nilType:string,arr:array<string>>"},
		{"unknown", &Type{}, "JSON", `"JSON"`, "string"},
		{"nil", nil, "JSON", `"JSON"`, "string"},
		{"json", &Type{Kind: JSON}, "JSON", `"JSON"`, "string"},
		{"bool", &Type{Kind: Bool}, "BOOLEAN", `"BOOLEAN"`, "boolean"},
		{"int", &Type{Kind: Int}, "BIGINT", `"BIGINT"`, "bigint"},
		{"float", &Type{Kind: Float}, "DOUBLE", `"DOUBLE"`, "double"},
		{"timestamp", &Type{Kind: Timestamp}, "TIMESTAMPTZ", `"TIMESTAMPTZ"`, "timestamp"},
		{"string", &Type{Kind: String}, "VARCHAR", `"VARCHAR"`, "string"},
		{"empty object", &Type{Kind: Object}, "JSON", `"JSON"`, "string"},
		{"only unusable fields", &Type{Kind: Object, Fields: []*Field{{Name: "", Type: &Type{Kind: Int}}}}, "JSON", `"JSON"`, "string"},
		{"array of objects", observeAll(t, `[{"a":1}]`), `STRUCT("a" BIGINT)[]`, `[{"a":"BIGINT"}]`, "array<struct<a:bigint>>"},
	} {
		if got := c.ty.DuckDB(); got != c.duck {
			t.Errorf("%s: DuckDB()\n got %s\nwant %s", c.name, got, c.duck)
		}
		got := c.ty.Structure()
		if got != c.structure {
			t.Errorf("%s: Structure()\n got %s\nwant %s", c.name, got, c.structure)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: Structure() %q is not valid JSON", c.name, got)
		}
		if got := c.ty.Hive(); got != c.hive {
			t.Errorf("%s: Hive()\n got %s\nwant %s", c.name, got, c.hive)
		}
	}
}

func TestSQLTypesCyclicAndDeep(t *testing.T) {
	// Hand-built cyclic or over-deep types must render (as JSON past
	// MaxTypeDepth), not recurse forever.
	cyc := &Type{Kind: Array}
	cyc.Elem = cyc
	want := strings.Repeat("JSON", 1) + strings.Repeat("[]", MaxTypeDepth)
	if got := cyc.DuckDB(); got != want {
		t.Errorf("cyclic DuckDB() = %s, want %s", got, want)
	}
	if got := cyc.Structure(); !json.Valid([]byte(got)) || strings.Count(got, "[") != MaxTypeDepth {
		t.Errorf("cyclic Structure() = %s", got)
	}
	if got := cyc.Hive(); strings.Count(got, "array<") != MaxTypeDepth {
		t.Errorf("cyclic Hive() = %s", got)
	}
	obj := &Type{Kind: Object}
	obj.Fields = []*Field{{Name: "self", Type: obj}}
	if got := obj.DuckDB(); strings.Count(got, "STRUCT(") != MaxTypeDepth || !strings.Contains(got, `"self" JSON`) {
		t.Errorf("cyclic object DuckDB() = %s", got)
	}
	if _, err := obj.MarshalJSON(); err == nil {
		t.Error("MarshalJSON of a cyclic type: want an error")
	}
	if c := obj.Clone(); c == nil {
		t.Error("Clone of a cyclic type returned nil")
	}
}
