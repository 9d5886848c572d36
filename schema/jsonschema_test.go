package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// pismoSchemaChange is the json_schema_change example event from the Pismo
// "Understanding data events" documentation, verbatim.
const pismoSchemaChange = `{
    "event_id": "8004c09f-9480-42a3-9211-6fa62e026806",
    "cid": "1acb8e5f-f242-423e-be32-593650d81d9e",
    "org_id": "TN-1c058bed-991d-42e6-a60c-6b3b9b16dbea",
    "domain": "dataplatform",
    "event_type": "json_schema_change",
    "schema_version": "1",
    "timestamp": "2023-06-22T00:09:06Z",
    "data": {
        "change_type": "INSERT",
        "schema_name": "domain/event_type-1",
        "schema_domain": "domain",
        "schema_event_type": "event_type",
        "schema_version": "1",
        "new_schema": "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"title\":\"Example JSON Schema\",\"description\":\"Example new description\",\"required\":[\"some_field\"],\"properties\":{\"some_field\":{\"type\":\"string\",\"title\":\"Some field title\"}}}"
    }
}`

func TestFromJSONSchemaPismoExample(t *testing.T) {
	var ev struct {
		Data struct {
			NewSchema string `json:"new_schema"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(pismoSchemaChange), &ev); err != nil {
		t.Fatal(err)
	}
	ty, err := FromJSONSchema([]byte(ev.Data.NewSchema))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sig(ty), "{some_field:string}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := ty.DuckDB(), `STRUCT("some_field" VARCHAR)`; got != want {
		t.Errorf("DuckDB() = %s, want %s", got, want)
	}
	// The event itself, as the loader observes its data.
	data := observeAll(t, `{"change_type":"INSERT","schema_version":"1","new_schema":"{}"}`)
	if got, want := sig(data), "{change_type:string,schema_version:string,new_schema:string}"; got != want {
		t.Errorf("observed data: got %s, want %s", got, want)
	}
}

const richSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "authorization-created-1",
  "type": "object",
  "definitions": {
    "money": {"type": "object", "required": ["value"],
      "properties": {"value": {"type": "number"}, "currency": {"type": "string", "enum": ["BRL", "USD"]}}},
    "node": {"type": "object",
      "properties": {"id": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}},
    "a~b/c": {"type": "boolean"}
  },
  "required": ["authorization_id"],
  "properties": {
    "authorization_id": {"type": "integer"},
    "amount": {"$ref": "#/definitions/money", "type": "string"},
    "created_at": {"type": ["string", "null"], "format": "date-time"},
    "day": {"type": "string", "format": "date"},
    "status": {"enum": ["APPROVED", "DENIED", null]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "limits": {"type": ["array", "null"], "items": {"type": "object",
      "properties": {"available": {"type": "number"}, "total": {"type": "integer"}}}},
    "installments": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    "rate": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    "mixed": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    "num_or_str": {"type": ["integer", "string"]},
    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    "anything": {},
    "tree": {"$ref": "#/definitions/node"},
    "external": {"$ref": "https://example.com/schemas/x.json"},
    "tuple": {"type": "array", "items": [{"type": "integer"}, {"type": "number"}]},
    "untyped_array": {"type": "array"},
    "flag": {"type": "boolean", "default": false},
    "code": {"const": 7},
    "both": {"allOf": [{"$ref": "#/definitions/money"}, {"properties": {"note": {"type": "string"}}}]},
    "escaped_ref": {"$ref": "#/definitions/a~0b~1c"},
    "true_schema": true,
    "false_schema": false,
    "nothing": {"type": "null"},
    "id": {"type": "string"},
    "ID": {"type": "integer"},
    "": {"type": "integer"},
    "weird type": {"type": "decimal"}
  }
}`

func TestFromJSONSchema(t *testing.T) {
	ty, err := FromJSONSchema([]byte(richSchema))
	if err != nil {
		t.Fatal(err)
	}
	want := "{authorization_id:int,amount:{value:float,currency:string},created_at:ts,day:string,status:string," +
		"tags:[string],limits:[{available:float,total:int}],installments:int,rate:float,mixed:json,num_or_str:json," +
		"metadata:{},anything:json,tree:{id:int,children:[json]},external:json,tuple:[float],untyped_array:[unknown]," +
		"flag:bool,code:int,both:{value:float,currency:string,note:string},escaped_ref:bool,true_schema:json," +
		"false_schema:unknown,nothing:unknown,id:string,weird type:json}"
	if got := sig(ty); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Its encoding round-trips like an inferred type.
	enc, err := ty.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Type
	if err := back.UnmarshalJSON(enc); err != nil || !back.Equal(ty) {
		t.Errorf("round trip: %v, equal %v", err, back.Equal(ty))
	}
}

func TestFromJSONSchemaRefs(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"root ref", `{"$ref":"#/definitions/a","definitions":{"a":{"type":"object","properties":{"x":{"type":"integer"}}}}}`, "{x:int}"},
		{"$defs", `{"type":"object","properties":{"x":{"$ref":"#/$defs/t"}},"$defs":{"t":{"type":"number"}}}`, "{x:float}"},
		{"self cycle via #", `{"type":"object","properties":{"self":{"$ref":"#"},"n":{"type":"integer"}}}`, "{self:json,n:int}"},
		{"mutual cycle", `{"$ref":"#/definitions/a","definitions":{` +
			`"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/b"}}},` +
			`"b":{"type":"object","properties":{"a":{"$ref":"#/definitions/a"},"v":{"type":"string"}}}}}`, "{b:{a:json,v:string}}"},
		{"ref to ref", `{"type":"object","properties":{"x":{"$ref":"#/definitions/a"}},"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"type":"boolean"}}}`, "{x:bool}"},
		{"ref cycle without content", `{"$ref":"#/definitions/a","definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}}}`, "json"},
		{"same definition twice", `{"type":"object","properties":{"x":{"$ref":"#/definitions/m"},"y":{"$ref":"#/definitions/m"}},"definitions":{"m":{"type":"integer"}}}`, "{x:int,y:int}"},
		{"percent-encoded", `{"type":"object","properties":{"x":{"$ref":"#/definitions/a%20b"}},"definitions":{"a b":{"type":"integer"}}}`, "{x:int}"},
		{"array index", `{"type":"object","properties":{"x":{"$ref":"#/definitions/l/1"}},"definitions":{"l":[{"type":"string"},{"type":"integer"}]}}`, "{x:int}"},
	} {
		ty, err := FromJSONSchema([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := sig(ty); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestFromJSONSchemaLimits(t *testing.T) {
	// More than MaxFields properties: JSON.
	var props []string
	for i := 0; i <= MaxFields; i++ {
		props = append(props, fmt.Sprintf(`"p%d":{"type":"integer"}`, i))
	}
	ty, err := FromJSONSchema([]byte(`{"type":"object","properties":{"wide":{"type":"object","properties":{` + strings.Join(props, ",") + `}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sig(ty); got != "{wide:json}" {
		t.Errorf("wide: got %s", got)
	}
	// Deeper than MaxTypeDepth: JSON at that level.
	deep := `{"type":"integer"}`
	for i := 0; i < MaxTypeDepth+3; i++ {
		deep = `{"type":"object","properties":{"a":` + deep + `}}`
	}
	ty, err = FromJSONSchema([]byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("{a:", MaxTypeDepth) + "json" + strings.Repeat("}", MaxTypeDepth)
	if got := sig(ty); got != want {
		t.Errorf("deep: got %s, want %s", got, want)
	}
	// Refs that fan out exponentially: bounded work, an error.
	var defs []string
	for i := 0; i < 25; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":{"type":"object","properties":{"a":{"$ref":"#/definitions/d%d"},"b":{"$ref":"#/definitions/d%d"}}}`, i, i+1, i+1))
	}
	defs = append(defs, `"d25":{"type":"integer"}`)
	_, err = FromJSONSchema([]byte(`{"$ref":"#/definitions/d0","definitions":{` + strings.Join(defs, ",") + `}}`))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("exponential refs: got %v, want an expansion error", err)
	}
}

func TestFromJSONSchemaErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{``, "json schema: invalid JSON at byte 0"},
		{`{"type":"object",}`, "invalid JSON at byte 17"},
		{`[]`, "not a schema object"},
		{`"string"`, "not a schema object"},
		{`{"type":"object","properties":{"x":{"$ref":"#/definitions/nope"}}}`, `#/properties/x: $ref "#/definitions/nope" does not resolve`},
		{`{"$ref":"#definitions"}`, "only JSON pointers"},
		{`{"$ref":5}`, "$ref is not a string"},
		{`{"type":5}`, `"type" is neither a string nor an array`},
		{`{"type":["string",5]}`, `"type" lists a non-string`},
		{`{"type":"object","properties":[]}`, `"properties" is not an object`},
		{`{"type":"object","properties":{"a/b":{"type":"object","properties":{"c":7}}}}`, "#/properties/a~1b/properties/c: a schema must be an object or a boolean"},
		{`{"anyOf":{}}`, `"anyOf" is not an array`},
		{`{"enum":"x"}`, `"enum" is not an array`},
	} {
		_, err := FromJSONSchema([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromJSONSchema(%q) = %v, want an error containing %q", c.doc, err, c.want)
		}
	}
}

func TestFromJSONSchemaBoolean(t *testing.T) {
	for doc, want := range map[string]string{`true`: "json", `false`: "unknown", `{}`: "json", `{"title":"x"}`: "json"} {
		ty, err := FromJSONSchema([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if got := sig(ty); got != want {
			t.Errorf("%s: got %s, want %s", doc, got, want)
		}
	}
}

func FuzzFromJSONSchema(f *testing.F) {
	f.Add([]byte(richSchema))
	f.Add([]byte(`{"$ref":"#/definitions/a","definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}}}`))
	f.Add([]byte(`{"type":["object","null"],"properties":{"x":{"anyOf":[{"type":"integer"},{"$ref":"#"}]}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		ty, err := FromJSONSchema(doc)
		if err != nil {
			return
		}
		enc, err := ty.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var back Type
		if err := back.UnmarshalJSON(enc); err != nil || !back.Equal(ty) {
			t.Fatalf("round trip of %s: %v", enc, err)
		}
		if s := ty.Structure(); !json.Valid([]byte(s)) {
			t.Fatalf("Structure %q is not valid JSON", s)
		}
	})
}
