package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/cputime"
)

// sig renders a type compactly for table tests: int, float, ts, string,
// bool, json, unknown, {a:int,b:[string]}, [int].
func sig(t *Type) string {
	var sb strings.Builder
	writeSig(&sb, t)
	return sb.String()
}

func writeSig(sb *strings.Builder, t *Type) {
	switch kindOf(t) {
	case Object:
		sb.WriteByte('{')
		for j, f := range t.Fields {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(f.Name)
			sb.WriteByte(':')
			writeSig(sb, f.Type)
		}
		sb.WriteByte('}')
	case Array:
		sb.WriteByte('[')
		writeSig(sb, t.Elem)
		sb.WriteByte(']')
	case Timestamp:
		sb.WriteString("ts")
	default:
		sb.WriteString(kindOf(t).String())
	}
}

func observeAll(t *testing.T, docs ...string) *Type {
	t.Helper()
	var ty Type
	for _, d := range docs {
		if err := ty.Observe([]byte(d)); err != nil {
			t.Fatalf("Observe(%q): %v", d, err)
		}
	}
	return &ty
}

func TestObserveWidening(t *testing.T) {
	const ts = `"2024-02-01T09:20:39.411067+00:00"`
	for _, c := range []struct {
		docs []string
		want string
	}{
		{[]string{`1`}, "int"},
		{[]string{`-0`}, "int"},
		{[]string{`1.0`}, "float"},
		{[]string{`1e2`}, "float"},
		{[]string{`1`, `1.5`}, "float"},
		{[]string{`1.5`, `1`}, "float"},
		{[]string{`9223372036854775807`}, "int"},
		{[]string{`-9223372036854775808`}, "int"},
		{[]string{`9223372036854775808`}, "float"},
		{[]string{`-9223372036854775809`}, "float"},
		{[]string{`12345678901234567890123`}, "float"},
		{[]string{`null`}, "unknown"},
		{[]string{`null`, `1`, `null`}, "int"},
		{[]string{`true`, `false`}, "bool"},
		{[]string{`true`, `1`}, "json"},
		{[]string{`1`, `true`}, "json"},
		{[]string{`1`, `"1"`}, "json"},
		{[]string{`true`, `"x"`, `1`, `null`, `{}`}, "json"},
		{[]string{ts}, "ts"},
		{[]string{ts, `"x"`}, "string"},
		{[]string{`"x"`, ts}, "string"},
		{[]string{ts, `"2024-02-01T09:20:39Z"`, `null`}, "ts"},
		{[]string{`"2024-02-01T09:20:39"`}, "string"}, // no zone
		{[]string{`"2024-02-01T09:20:39\u002b00:00"`}, "string"},
		{[]string{ts, `1`}, "json"},
		{[]string{`{}`}, "{}"},
		{[]string{`{"a":1}`, `{"b":"x","a":2.5}`}, "{a:float,b:string}"},
		{[]string{`{"a":null}`}, "{a:unknown}"},
		{[]string{`{"a":null}`, `{"a":"x"}`, `{"a":null}`}, "{a:string}"},
		{[]string{`{"a":{"b":1}}`, `{"a":{"c":[true]}}`}, "{a:{b:int,c:[bool]}}"},
		{[]string{`{"a":{"b":1}}`, `{"a":"x"}`}, "{a:json}"},
		{[]string{`{"a":{"b":1}}`, `{"a":"x"}`, `{"a":{"b":1}}`}, "{a:json}"},
		{[]string{`[]`}, "[unknown]"},
		{[]string{`[null]`}, "[unknown]"},
		{[]string{`[1,2]`, `[1.5]`, `[]`}, "[float]"},
		{[]string{`[1,"a"]`}, "[json]"},
		{[]string{`[1,"a",{},3]`}, "[json]"},
		{[]string{`[[1],[2.5],[]]`}, "[[float]]"},
		{[]string{`[{"a":1},{"b":2}]`}, "[{a:int,b:int}]"},
		{[]string{`{}`, `[]`}, "json"},
		{[]string{`[]`, `{}`}, "json"},
		{[]string{`{"a":1}`, `1`}, "json"},
		{[]string{`[1]`, `"x"`}, "json"},
		{[]string{`null`, `[1]`, `null`}, "[int]"},
		// duplicate keys widen the same field
		{[]string{`{"a":1,"a":"x"}`}, "{a:json}"},
		{[]string{`{"a":1,"\u0061":2.5}`}, "{a:float}"},
		// keys that cannot be struct entries are left out
		{[]string{`{"id":1,"ID":"x","Id":true}`}, "{id:int}"},
		{[]string{`{"":1,"a":2}`}, "{a:int}"},
		{[]string{`{"a\u0000b":1}`}, "{}"},
		{[]string{"{\"caf\u00e9\":1,\"CAF\u00c9\":2}"}, "{caf\u00e9:int}"},
		{[]string{`{"\ud83d\ude00":1}`}, "{\U0001F600:int}"},
		{[]string{`{"\ud800x":1}`}, "{\uFFFDx:int}"},
		{[]string{`{"a\"b\\c\/d\n":1}`}, "{a\"b\\c/d\n:int}"},
		// whitespace everywhere
		{[]string{" \n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\r\n"}, "{a:[int],b:{}}"},
	} {
		if got := sig(observeAll(t, c.docs...)); got != c.want {
			t.Errorf("Observe(%q) = %s, want %s", c.docs, got, c.want)
		}
	}
}

func TestObserveLongEscapedKey(t *testing.T) {
	long := strings.Repeat("k", 100)
	ty := observeAll(t, `{"`+long+`\n":1}`, `{"`+long+`\u000a":2}`)
	if got, want := sig(ty), "{"+long+"\n:int}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestObserveFieldOrder(t *testing.T) {
	ty := observeAll(t, `{"b":1,"a":1}`, `{"c":1,"a":1,"d":1}`, `{"e":1,"d":1,"b":1}`)
	if got, want := sig(ty), "{b:int,a:int,c:int,d:int,e:int}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// objectDoc builds {"k0":0,"k1":1,…} with the given key order.
func objectDoc(keys []int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for j, k := range keys {
		if j > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":%d`, k, k)
	}
	sb.WriteByte('}')
	return sb.String()
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestObserveManyFieldsIndexed(t *testing.T) {
	// More fields than the linear-scan threshold, seen in different orders:
	// lookups must go through the index and never duplicate a field.
	fwd := seq(0, 40)
	var rev []int
	for i := 39; i >= 0; i-- {
		rev = append(rev, i)
	}
	ty := observeAll(t, objectDoc(fwd), objectDoc(rev), objectDoc(seq(20, 60)), `{"k5":1.5}`)
	if len(ty.Fields) != 60 {
		t.Fatalf("got %d fields, want 60", len(ty.Fields))
	}
	for j, f := range ty.Fields {
		want := Int
		if j == 5 {
			want = Float
		}
		if f.Name != fmt.Sprintf("k%d", j) || f.Type.Kind != want {
			t.Errorf("field %d = %s %s, want k%d %s", j, f.Name, f.Type.Kind, j, want)
		}
	}
}

func TestObserveMaxFields(t *testing.T) {
	ty := observeAll(t, objectDoc(seq(0, MaxFields)))
	if ty.Kind != Object || len(ty.Fields) != MaxFields {
		t.Fatalf("%d keys: got %s with %d fields, want an object with %d", MaxFields, ty.Kind, len(ty.Fields), MaxFields)
	}
	if err := ty.Observe([]byte(objectDoc(seq(0, MaxFields)))); err != nil || ty.Kind != Object {
		t.Fatalf("re-observing the same keys: %v, kind %s", err, ty.Kind)
	}
	if err := ty.Observe([]byte(objectDoc([]int{MaxFields}))); err != nil {
		t.Fatal(err)
	}
	if ty.Kind != JSON {
		t.Errorf("after a %dth distinct key: kind %s, want json", MaxFields+1, ty.Kind)
	}
	if ty.Fields != nil {
		t.Errorf("a JSON type keeps %d fields", len(ty.Fields))
	}

	// A map-like nested payload becomes JSON at its own level only.
	nestedMap := `{"id":1,"balances":` + objectDoc(seq(0, MaxFields+1)) + `,"after":"x"}`
	if got, want := sig(observeAll(t, nestedMap)), "{id:int,balances:json,after:string}"; got != want {
		t.Errorf("nested map: got %s, want %s", got, want)
	}
	// Across documents.
	if got, want := sig(observeAll(t, objectDoc(seq(0, 300)), objectDoc(seq(300, 501)))), "json"; got != want {
		t.Errorf("keys spread over two documents: got %s, want %s", got, want)
	}
}

func nestedObjects(levels int) string {
	return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
}

func TestObserveDepth(t *testing.T) {
	depthOf := func(ty *Type) (objects int, last Kind) {
		for ty.Kind == Object {
			objects++
			ty = ty.Fields[0].Type
		}
		return objects, ty.Kind
	}
	for _, c := range []struct {
		levels      int
		wantObjects int
		wantLast    Kind
	}{
		{1, 1, Int},
		{MaxTypeDepth, MaxTypeDepth, Int},
		{MaxTypeDepth + 1, MaxTypeDepth, JSON},
		{MaxDepth, MaxTypeDepth, JSON},
	} {
		ty := observeAll(t, nestedObjects(c.levels))
		if objects, last := depthOf(ty); objects != c.wantObjects || last != c.wantLast {
			t.Errorf("%d levels: typed %d objects then %s, want %d then %s", c.levels, objects, last, c.wantObjects, c.wantLast)
		}
	}
	// Arrays count as levels too.
	ty := observeAll(t, strings.Repeat("[", MaxTypeDepth+1)+strings.Repeat("]", MaxTypeDepth+1))
	want := strings.Repeat("[", MaxTypeDepth) + "json" + strings.Repeat("]", MaxTypeDepth)
	if got := sig(ty); got != want {
		t.Errorf("deep arrays: got %s, want %s", got, want)
	}
	// Far too deep: an error, not a stack overflow.
	var deep Type
	if err := deep.Observe(nested(100000, "[", "]")); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("100000 deep: got %v, want a nesting error", err)
	}
}

func TestObserveInvalid(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{`, `[`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a" 1}`, `{a:1}`, `[1 2]`, `[1,`,
		`"abc`, `"\`, `tru`, `nul`, `-`, `1.`, `01`, `1 2`, `{"a":1}}`, `x`, `{"\u12":1}`, `{"\q":1}`,
		`[1,]`, `{"a":1,}`, `{"a":[1,}`, `{"big":` + objectDoc(seq(0, 600))[:100],
	} {
		var ty Type
		err := ty.Observe([]byte(doc))
		if err == nil {
			t.Errorf("Observe(%q) = nil, want an error", doc)
		} else if !strings.HasPrefix(err.Error(), "invalid JSON at byte ") {
			t.Errorf("Observe(%q) = %q, want the \"invalid JSON at byte N\" form", doc, err)
		}
	}
	var nilType *Type
	if err := nilType.Observe([]byte(`1`)); err == nil {
		t.Error("Observe on a nil *Type: want an error")
	}
}

func TestIsTimestamp(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"2024-02-01T09:20:39Z", true},
		{"2024-02-01T09:20:39.4Z", true},
		{"2024-02-01T09:20:39.411067+00:00", true},
		{"2024-02-01T09:20:39.123456789-03:00", true},
		{"2024-02-01 09:20:39+05:30", true},
		{"2024-02-01T09:20:39+0530", true},
		{"2024-02-01T09:20:39-03", true},
		{"2024-02-29T00:00:00Z", true},
		{"2000-02-29T00:00:00Z", true},
		{"0001-01-01T00:00:00Z", true},
		{"9999-12-31T23:59:59.999999999+18:00", true},
		{"2023-02-29T00:00:00Z", false},
		{"1900-02-29T00:00:00Z", false},
		{"2023-06-22T22:69:36Z", false}, // from the Pismo docs: minute 69
		{"2023-04-31T00:00:00Z", false},
		{"2023-13-01T00:00:00Z", false},
		{"2023-00-01T00:00:00Z", false},
		{"2023-01-00T00:00:00Z", false},
		{"2023-01-01T24:00:00Z", false},
		{"2023-01-01T23:59:60Z", false},
		{"0000-01-01T00:00:00Z", false},
		{"2024-02-01T09:20:39", false},
		{"2024-02-01T09:20Z", false},
		{"2024-02-01", false},
		{"2024-02-01T09:20:39.Z", false},
		{"2024-02-01T09:20:39.1234567890Z", false},
		{"2024-02-01T09:20:39z", false},
		{"2024-02-01t09:20:39Z", false},
		{"2024-02-01T09:20:39+19:00", false},
		{"2024-02-01T09:20:39+05:60", false},
		{"2024-02-01T09:20:39+5:00", false},
		{"2024-02-01T09:20:39+05:0", false},
		{"2024-02-01T09:20:39+05:00 ", false},
		{"2024-02-01T09:20:39ZZ", false},
		{"2024-2-01T09:20:39Z", false},
		{"+2024-02-01T09:20:39Z", false},
		{"2024-02-01T09:20:39.411067", false},
		{"", false},
	} {
		if got := isTimestamp([]byte(c.s)); got != c.want {
			t.Errorf("isTimestamp(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

func TestMerge(t *testing.T) {
	for _, c := range []struct {
		a, b []string
		want string
	}{
		{nil, []string{`1`}, "int"},
		{[]string{`1`}, nil, "int"},
		{[]string{`1`}, []string{`2.5`}, "float"},
		{[]string{`"2024-02-01T09:20:39Z"`}, []string{`"x"`}, "string"},
		{[]string{`true`}, []string{`1`}, "json"},
		{[]string{`{"a":1,"b":[1]}`}, []string{`{"c":"x","b":[2.5],"a":null}`}, "{a:int,b:[float],c:string}"},
		{[]string{`{"a":1}`}, []string{`[1]`}, "json"},
		{[]string{`[]`}, []string{`[{"x":1}]`}, "[{x:int}]"},
		{[]string{`"x"`}, []string{`[1,"a"]`}, "json"},
		{[]string{`{"id":1}`}, []string{`{"ID":"x","n":1}`}, "{id:int,n:int}"},
		{[]string{objectDoc(seq(0, 300))}, []string{objectDoc(seq(250, 501))}, "json"},
	} {
		a, b := observeAll(t, c.a...), observeAll(t, c.b...)
		bBefore := b.Clone()
		a.Merge(b)
		if got := sig(a); got != c.want {
			t.Errorf("Merge(%q, %q) = %s, want %s", c.a, c.b, got, c.want)
		}
		if !b.Equal(bBefore) {
			t.Errorf("Merge(%q, %q) modified its argument", c.a, c.b)
		}
		// Merging per-worker results equals observing everything in one type.
		one := observeAll(t, append(append([]string{}, c.a...), c.b...)...)
		if !one.Equal(a) {
			t.Errorf("Merge(%q, %q) = %s, but observing all gives %s", c.a, c.b, sig(a), sig(one))
		}
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	u := observeAll(t, `{"a":{"b":1},"l":[1]}`)
	var ty Type
	ty.Merge(u)
	if err := ty.Observe([]byte(`{"a":{"b":2.5,"c":true},"l":["x"],"z":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := sig(u), "{a:{b:int},l:[int]}"; got != want {
		t.Errorf("the merged-in type changed to %s, want %s", got, want)
	}
	if got, want := sig(&ty), "{a:{b:float,c:bool},l:[json],z:int}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var nilType *Type
	nilType.Merge(u) // must not panic
	ty.Merge(nil)
}

func TestMergeDepthLimit(t *testing.T) {
	// A type deeper than MaxTypeDepth (hand-built) is cut to JSON by Merge.
	deep := &Type{}
	cur := deep
	for i := 0; i < MaxTypeDepth+5; i++ {
		cur.Kind = Array
		cur.Elem = &Type{}
		cur = cur.Elem
	}
	cur.Kind = Int
	var ty Type
	ty.Merge(deep)
	want := strings.Repeat("[", MaxTypeDepth) + "json" + strings.Repeat("]", MaxTypeDepth)
	if got := sig(&ty); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCloneEqual(t *testing.T) {
	ty := observeAll(t, pismoString(), `{"extra":[{"x":1}]}`)
	c := ty.Clone()
	if !c.Equal(ty) || !ty.Equal(c) {
		t.Fatal("clone is not Equal")
	}
	if err := c.Observe([]byte(`{"extra":[{"y":2}],"amount":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if c.Equal(ty) {
		t.Error("Equal after changing the clone")
	}
	if sig(ty) == sig(c) {
		t.Error("observing into the clone changed the original")
	}
	var nilType *Type
	if nilType.Clone() != nil {
		t.Error("Clone(nil) != nil")
	}
	for _, c := range []struct {
		a, b *Type
		want bool
	}{
		{nil, &Type{}, true},
		{&Type{Kind: Array}, &Type{Kind: Array, Elem: &Type{}}, true},
		{&Type{Kind: Array, Elem: &Type{Kind: Int}}, &Type{Kind: Array}, false},
		{&Type{Kind: Int}, &Type{Kind: Float}, false},
		{observeAll(t, `{"a":1,"b":1}`), observeAll(t, `{"b":1,"a":1}`), false}, // order matters
		{observeAll(t, `{"a":1}`), observeAll(t, `{"a":1,"b":1}`), false},
		{observeAll(t, `{"a":1}`), observeAll(t, `{"A":1}`), false},
		{&Type{Kind: Object}, &Type{Kind: Object, Fields: []*Field{}}, true},
	} {
		if got := c.a.Equal(c.b); got != c.want {
			t.Errorf("Equal(%s, %s) = %v, want %v", sig(c.a), sig(c.b), got, c.want)
		}
	}
}

func pismoString() string { return string(pismoData()) }

func TestObservePismo(t *testing.T) {
	ty := observeAll(t, pismoString(), string(pismoDataPretty()))
	want := "{authorization_id:int,account_id:int,customer_id:int,card_id:int,program_id:int,org_id:string,cid:string," +
		"event_date:ts,authorization_type:string,status:string," +
		"amount:{value:float,currency:string,original_value:float,original_currency:string,exchange_rate:float}," +
		"installments:int,is_international:bool,is_contactless:bool,mcc:string,nsu:string," +
		"merchant:{id:string,name:string,city:string,state:string,country:string,postal_code:string,terminal_id:string}," +
		"entry_mode:string,pos_data:{cardholder_present:bool,card_present:bool,pin_verified:bool}," +
		"processing_code:string,authorization_code:string,response_code:string,transaction_id:string," +
		"tags:[string],limits:[{type:string,available:float,total:int}],descriptor:string,soft_descriptor:string," +
		"network:string,created_at:ts,metadata:unknown}"
	if got := sig(ty); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestObserveNoAllocs(t *testing.T) {
	doc := pismoData()
	var ty Type
	if err := ty.Observe(doc); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := ty.Observe(doc); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Observe of a stable shape allocates %v times per run, want 0", n)
	}
	// Also with more than linearFields fields seen out of order, escaped
	// keys and dropped keys.
	wide := objectDoc(seq(0, 40))
	other := []byte(`{"k39":1,"k\u0031":2,"":3,"K2":4,"k0":5}`)
	var w Type
	if err := w.Observe([]byte(wide)); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := w.Observe(other); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Observe of a wide stable shape allocates %v times per run, want 0", n)
	}
}

func TestMarshalJSON(t *testing.T) {
	ty := observeAll(t, `{"card_id":1,"amount":{"value":1.5,"currency":"BRL"},"tags":["a"],"at":"2024-02-01T09:20:39Z","x":null,"q\"\u0001":true,"m":[1,"a"]}`)
	got, err := json.Marshal(ty)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"object","fields":[{"name":"card_id","type":{"kind":"int"}},` +
		`{"name":"amount","type":{"kind":"object","fields":[{"name":"value","type":{"kind":"float"}},{"name":"currency","type":{"kind":"string"}}]}},` +
		`{"name":"tags","type":{"kind":"array","elem":{"kind":"string"}}},` +
		`{"name":"at","type":{"kind":"timestamp"}},{"name":"x","type":{"kind":"unknown"}},` +
		`{"name":"q\"\u0001","type":{"kind":"bool"}},{"name":"m","type":{"kind":"array","elem":{"kind":"json"}}}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back Type
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(ty) {
		t.Errorf("round trip: got %s, want %s", sig(&back), sig(ty))
	}
	again, _ := back.MarshalJSON()
	if string(again) != string(got) {
		t.Errorf("re-encoding differs:\n%s\n%s", again, got)
	}
	// Unmarshal replaces everything, including the field index.
	wide := observeAll(t, objectDoc(seq(0, 40)))
	if err := wide.UnmarshalJSON([]byte(`{"kind":"object","fields":[{"name":"k1","type":{"kind":"int"}}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := wide.Observe([]byte(`{"k1":1,"k30":2}`)); err != nil {
		t.Fatal(err)
	}
	if got := sig(wide); got != "{k1:int,k30:int}" {
		t.Errorf("after UnmarshalJSON into a used type: %s", got)
	}
}

func TestUnmarshalJSONErrors(t *testing.T) {
	deep := `{"kind":"int"}`
	for i := 0; i < MaxTypeDepth+1; i++ {
		deep = `{"kind":"array","elem":` + deep + `}`
	}
	for _, c := range []struct{ in, want string }{
		{``, "decoding type"},
		{`{`, "decoding type"},
		{`null`, `missing "kind"`},
		{`{}`, `missing "kind"`},
		{`{"kind":"integer"}`, `unknown kind "integer"`},
		{`{"kind":"int","extra":1}`, "unknown field"},
		{`{"kind":"int","fields":[]}`, `"fields" on a int type`},
		{`{"kind":"object","elem":{"kind":"int"}}`, `"elem" on a object type`},
		{`{"kind":"object","fields":[{"type":{"kind":"int"}}]}`, `missing "name"`},
		{`{"kind":"object","fields":[{"name":"a"}]}`, `$."a": null type`},
		{`{"kind":"object","fields":[{"name":"","type":{"kind":"int"}}]}`, "field name is empty"},
		{`{"kind":"object","fields":[{"name":"a","type":{"kind":"int"}},{"name":"A","type":{"kind":"int"}}]}`, `$."A": field name`},
		{`{"kind":"array","elem":{"kind":"object","fields":[{"name":"x","type":{"kind":"nope"}}]}}`, `$[]."x": unknown kind`},
		{deep, "nesting deeper than 32"},
		{`{"kind":"int"} {"kind":"int"}`, "trailing data"},
	} {
		ty := observeAll(t, `{"keep":1}`)
		err := ty.UnmarshalJSON([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("UnmarshalJSON(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
		if sig(ty) != "{keep:int}" {
			t.Errorf("UnmarshalJSON(%q) changed the type on error to %s", c.in, sig(ty))
		}
	}
	fields := make([]string, MaxFields+1)
	for j := range fields {
		fields[j] = fmt.Sprintf(`{"name":"f%d","type":{"kind":"int"}}`, j)
	}
	var ty Type
	if err := ty.UnmarshalJSON([]byte(`{"kind":"object","fields":[` + strings.Join(fields, ",") + `]}`)); err == nil {
		t.Errorf("UnmarshalJSON with %d fields: want an error", MaxFields+1)
	}
	if _, err := (&Type{Kind: Kind(99)}).MarshalJSON(); err == nil {
		t.Error("MarshalJSON of an invalid kind: want an error")
	}
}

func FuzzObserve(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(s), []byte(`{"a":1}`))
	}
	f.Add(pismoData(), []byte(`{"amount":"x","tags":[1]}`))
	f.Add([]byte(`{"a":{"b":[1,2.5]}}`), []byte(`{"a":{"b":[],"c":"2024-02-01T09:20:39Z"}}`))
	f.Add([]byte(`{"id":1,"ID":2,"":3}`), []byte(`[{"x":null}]`))
	f.Fuzz(func(t *testing.T, doc1, doc2 []byte) {
		var ty Type
		err1 := ty.Observe(doc1)
		if err1 != nil && Validate(doc1) == nil {
			t.Fatalf("Observe(%q) = %v on valid JSON", doc1, err1)
		}
		err2 := ty.Observe(doc2)
		if err2 != nil && Validate(doc2) == nil {
			t.Fatalf("Observe(%q) = %v on valid JSON", doc2, err2)
		}
		enc, err := ty.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var back Type
		if err := back.UnmarshalJSON(enc); err != nil {
			t.Fatalf("UnmarshalJSON(%s): %v", enc, err)
		}
		if !back.Equal(&ty) {
			t.Fatalf("round trip of %s is not Equal", enc)
		}
		if !ty.Clone().Equal(&ty) {
			t.Fatal("Clone is not Equal")
		}
		if s := ty.Structure(); !json.Valid([]byte(s)) {
			t.Fatalf("Structure %q is not valid JSON", s)
		}
		_ = ty.DuckDB()
		_ = ty.Hive()
		if err1 != nil || err2 != nil {
			return
		}
		// Observing again changes nothing; merging per-document types
		// gives the same result as observing both.
		again := ty.Clone()
		_ = again.Observe(doc1)
		_ = again.Observe(doc2)
		if !again.Equal(&ty) {
			t.Fatalf("re-observing changed %s to %s", sig(&ty), sig(again))
		}
		var a, b Type
		_ = a.Observe(doc1)
		_ = b.Observe(doc2)
		a.Merge(&b)
		if !a.Equal(&ty) {
			t.Fatalf("Merge = %s, observing both = %s", sig(&a), sig(&ty))
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	doc := pismoData()
	var ty Type
	if err := ty.Observe(doc); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if err := ty.Observe(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObservePretty(b *testing.B) {
	doc := pismoDataPretty()
	var ty Type
	if err := ty.Observe(doc); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if err := ty.Observe(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserveStrict is the loader's walk over a record's data: validate
// and type in one pass.
func BenchmarkObserveStrict(b *testing.B) {
	doc := pismoData()
	var ty Type
	if _, _, err := ty.ObserveStrictAt(doc, 0, MaxDepth-1); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if _, _, err := ty.ObserveStrictAt(doc, 0, MaxDepth-1); err != nil {
			b.Fatal(err)
		}
	}
}
