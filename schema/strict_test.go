package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkStrict compares ObserveStrictAt with the validator plus Observe: it
// accepts exactly what validValueMax accepts, ends where it ends, widens a
// type exactly as Observe does, returns an undo that takes the widening
// back, and leaves the type untouched when the value is invalid.
func checkStrict(t *testing.T, start, doc []byte, maxDepth int) {
	t.Helper()
	var base Type
	if len(start) > 0 && base.Observe(start) != nil {
		return
	}
	wantEnd, verr := 0, error(errors.New("empty input"))
	if len(doc) > 0 {
		wantEnd, verr = validValueMax(doc, 0, maxDepth)
	}
	got := base.Clone()
	end, undo, err := got.ObserveStrictAt(doc, 0, maxDepth)
	checkStrictOracle(t, base.Clone(), got, doc, maxDepth, end, undo, err)
	if (err == nil) != (verr == nil) {
		t.Fatalf("ObserveStrictAt(%q, %d) = %v, validator: %v", doc, maxDepth, err, verr)
	}
	if err != nil {
		if !got.Equal(&base) {
			t.Fatalf("ObserveStrictAt(%q) failed (%v) but changed the type", doc, err)
		}
		return
	}
	if end != wantEnd {
		t.Fatalf("ObserveStrictAt(%q) ends at %d, the validator at %d", doc, end, wantEnd)
	}
	want := base.Clone()
	if err := want.Observe(doc[:end]); err != nil {
		t.Fatalf("Observe(%q): %v", doc[:end], err)
	}
	if !got.Equal(want) {
		t.Fatalf("ObserveStrictAt(%q) typed differently from Observe", doc)
	}
	if undo == nil {
		if !got.Equal(&base) {
			t.Fatalf("ObserveStrictAt(%q) changed the type but gave no undo", doc)
		}
		return
	}
	*got = *undo
	if !got.Equal(&base) {
		t.Fatalf("undo after ObserveStrictAt(%q) is not the type from before", doc)
	}
}

// checkStrictOracle: the walk of ObserveStrictAt (into got, from base) is
// the former one's: same acceptance, error, end, type and undo.
func checkStrictOracle(t *testing.T, base, got *Type, doc []byte, maxDepth, end int, undo *Type, err error) {
	t.Helper()
	old := base.Clone()
	oEnd, oUndo, oErr := observeStrictAtOracle(old, doc, 0, maxDepth)
	if fmt.Sprint(err) != fmt.Sprint(oErr) || end != oEnd {
		t.Fatalf("ObserveStrictAt(%q, %d) = %d, %v; former walk: %d, %v", doc, maxDepth, end, err, oEnd, oErr)
	}
	if !got.Equal(old) {
		t.Fatalf("ObserveStrictAt(%q) typed %v, the former walk %v", doc, got, old)
	}
	if (undo == nil) != (oUndo == nil) || (undo != nil && !undo.Equal(oUndo)) {
		t.Fatalf("ObserveStrictAt(%q) undo %v, the former walk's %v", doc, undo, oUndo)
	}
}

func TestObserveStrictAt(t *testing.T) {
	docs := append([]string{
		string(pismoData()),
		`{"a":"\u00e9","b":"x\u0001"}`, // escaped control: valid
		"{\"a\":\"x\x01\"}",            // raw control byte: invalid
		"{\"a\":\"\xff\"}",             // invalid UTF-8 in a value
		"{\"\xff\":1}",                 // invalid UTF-8 in a key
		`{"a":"\x"}`, `{"a\q":1}`, `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`{"a":1} `, ` {"a":1}`, `{"a":1}x`, ``, `"2024-02-01T09:20:39Z"`, `"2024-02-01T09:20:39\u005a"`,
		`{"t":"2024-02-01T09:20:39Z","n":1,"f":1.5,"b":true,"z":null,"o":{"x":[1,{"y":2}]}}`,
		strings.Repeat("[", 40) + strings.Repeat("]", 40), // deeper than MaxTypeDepth: validated by skip
		strings.Repeat("[", 40) + "1," + strings.Repeat("]", 40),
		`{"a":` + strings.Repeat("[", 35) + `{"b":"\q"}` + strings.Repeat("]", 35) + `}`,
	}, validateSeeds...)
	docs = append(docs,
		`{"a\"b":1,"c":2}`, `{"a"b":1}`, `{"a\\":1}`, `{"\u00e9":1,"é":2}`, "{\"\xc3\xa9\":1}", "{\"\xc3\":1}",
		`{"\ud800":1}`, "{\"\xef\xbf\xbd\":1}", `{"a":1,"a":"x"}`, `{"A":1,"a":2}`, `{"":1}`, `{"a" :1 , "b"	:	2 }`,
		`{"a":1,"c":2}`, `{"a":1,"c":2,"b":3}`, `{"t":"x"}`, `{"a":2,"t":"2024-02-01T09:20:39Z"}`, `{"a":2,"t":"2024-02-01T09:20:39\u005a"}`,
		`{"a":2,"t":"2024-02-01T09:20:39Z\x"}`, `{"a":2.5,"t":"2024-02-01T09:20:39+01:00"}`, "{\"a\":2,\"t\":\"2024-02-01T09:20:39Z\xff\"}", `{"a":2,"t":1}`, `{"a":null,"t":null}`, `{"c":1,"b":2,"a":3}`, `{"ab":1}`, `{"a":1`, `{"a`, `{"a"`, `{"a":1,"c"`)
	starts := []string{"", `{"a":1,"t":"2024-02-01T09:20:39Z"}`, `{"b":[1]}`, `[{"x":"s"}]`, `"s"`,
		`{"a\"b":1,"c":2}`, `{"a\\":1}`, `{"\ud800":1}`, `{"é":1}`, `{"a":1,"b":2,"c":3}`, `{"":1}`}
	for _, d := range docs {
		for _, s := range append(starts, d) {
			for _, depth := range []int{MaxDepth - 1, 3, 1} {
				checkStrict(t, []byte(s), []byte(d), depth)
			}
		}
	}
	// Many fields: the object becomes JSON and is validated by skip.
	var sb strings.Builder
	sb.WriteByte('{')
	for i := range MaxFields + 5 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)) + `":1`)
	}
	checkStrict(t, nil, []byte(sb.String()+"}"), MaxDepth-1)
	checkStrict(t, nil, []byte(sb.String()+",}"), MaxDepth-1)
}

func FuzzObserveStrictAt(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(`{"a":1}`), []byte(s), uint16(0))
	}
	f.Add([]byte(`{"a":1}`), pismoData(), uint16(3))
	f.Add([]byte(`[{"x":null}]`), []byte("{\"a\":\"x\x01\"}"), uint16(0))
	f.Add(pismoData(), pismoData(), uint16(0))
	f.Add([]byte(`{"a\"b":1,"c":[{"d":2}]}`), []byte(`{"a\"b":1,"c":[{"d":2.5},{"d":"x"}]}`), uint16(0))
	f.Fuzz(func(t *testing.T, start, doc []byte, depth uint16) {
		maxDepth := MaxDepth - 1
		if depth != 0 {
			maxDepth = int(depth % 50)
			if maxDepth == 0 {
				maxDepth = 1
			}
		}
		checkStrict(t, start, doc, maxDepth)
	})
}

// checkMembersWith: MembersWith, with ObserveStrictAt validating the data
// member, accepts exactly the records Members accepts, sees the same
// members, and types data as Observe does.
func checkMembersWith(t *testing.T, rec []byte) {
	t.Helper()
	type kv struct{ k, v string }
	var full, with []kv
	errFull := Members(rec, func(k, v []byte) error { full = append(full, kv{string(k), string(v)}); return nil })
	var ty Type
	errWith := MembersWith(rec, "data", func(b []byte, i int) (int, error) {
		end, _, err := ty.ObserveStrictAt(b, i, MaxDepth-1)
		return end, err
	}, func(k, v []byte) error { with = append(with, kv{string(k), string(v)}); return nil })
	if (errWith == nil) != (errFull == nil) {
		t.Fatalf("%q: Members error %v, MembersWith error %v", rec, errFull, errWith)
	}
	if errFull != nil {
		return
	}
	if fmt.Sprint(full) != fmt.Sprint(with) {
		t.Fatalf("%q: members differ:\n%v\n%v", rec, full, with)
	}
	var want Type
	for _, m := range full {
		if m.k == "data" {
			if err := want.Observe([]byte(m.v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !ty.Equal(&want) {
		t.Fatalf("%q: data typed differently from Observe", rec)
	}
}

func TestMembersWith(t *testing.T) {
	for _, r := range []string{
		`{"event_id":"e","data":` + string(pismoData()) + `}`,
		`{"data":{"a":"}"},"x":1}`, `{"data":"a\"b","x":1}`, `{"data":[1,2],"x":{"data":3}}`,
		`{"data":1 ,"x":2}`, `{"data": null}`, `{"data":}`, `{"data":{"a":1}}}`, `{"data":{"a":1]}`,
		`{"data":[1,2}`, `{"data":"x`, `{"data":{"a":"\x"}}`, `{"data":tru,"b":1}`, `{"data":1 2}`,
		`{"data":"x"}x`, `{"data":{}`, `{"data":{"a":1},"data":[}`, `{"data":{"a":1},"data":{"b":"2024-02-01T09:20:39Z"}}`,
		`{"a":1,"data":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`,
	} {
		checkMembersWith(t, []byte(r))
	}
	// value may decline (-1): the validator takes the member.
	n := 0
	err := MembersWith([]byte(`{"data":{"a":1},"b":2}`), "data", func([]byte, int) (int, error) { n++; return -1, nil },
		func(k, v []byte) error { return nil })
	if err != nil || n != 1 {
		t.Errorf("declined member: err %v, calls %d", err, n)
	}
}

func FuzzMembersWith(f *testing.F) {
	f.Add([]byte(`{"event_id":"e","data":` + string(pismoData()) + `}`))
	f.Add([]byte(`{"data":{"a":"}"},"x":1}`))
	f.Add([]byte(`{"data":[1,2}`))
	for _, s := range validateSeeds {
		f.Add([]byte(`{"data":` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, rec []byte) { checkMembersWith(t, rec) })
}

// FuzzScanString: the string scan is the former one (end, escape flag and
// error text), wherever the string starts.
func FuzzScanString(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(s), uint16(1))
	}
	f.Add([]byte(`"abcdefghijklmnopqrstuvwxyz"`), uint16(1))
	f.Add([]byte("\"abcdefgh\x01ijk\""), uint16(1))
	f.Add([]byte("\"abcdefgh\xc3\xa9ijklmnopq\\u00e9rstuvwxyz\""), uint16(1))
	f.Add([]byte("\"abcdefgh\xed\xa0\x80\""), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		i := int(at) % (len(b) + 1)
		if i == 0 {
			i = 1
		}
		if i > len(b) {
			return
		}
		end, esc, err := scanStringEsc(b, i)
		oEnd, oEsc, oErr := scanStringEscOracle(b, i)
		if end != oEnd || esc != oEsc || fmt.Sprint(err) != fmt.Sprint(oErr) {
			t.Fatalf("scanStringEsc(%q, %d) = %d, %v, %v; former %d, %v, %v", b, i, end, esc, err, oEnd, oEsc, oErr)
		}
		end, err = scanString(b, i)
		oEnd, oErr = scanStringOracle(b, i)
		if end != oEnd || fmt.Sprint(err) != fmt.Sprint(oErr) {
			t.Fatalf("scanString(%q, %d) = %d, %v; former %d, %v", b, i, end, err, oEnd, oErr)
		}
	})
}

// keyAt matches a plain name exactly as comparing the bytes and the closing
// quote does, for every name length around the word sizes and wherever the
// record ends.
func TestKeyAt(t *testing.T) {
	for l := 0; l <= 40; l++ {
		name := strings.Repeat("abcdefghij", 5)[:l]
		f := &Field{Name: name}
		if !f.plainName() {
			t.Fatalf("%q not plain", name)
		}
		var keys []string
		for _, k := range []string{name, name + "x", name + `\"`} {
			keys = append(keys, k)
		}
		if l > 0 {
			keys = append(keys, name[:l-1])
		}
		for i := 0; i < l; i++ {
			keys = append(keys, name[:i]+"Z"+name[i+1:])
		}
		for _, k := range keys {
			for pad := 0; pad < 20; pad++ {
				b := []byte(`{"` + k + `":1}`)[:min(len(k)+3, len(k)+2+pad)]
				for _, tail := range []string{"", strings.Repeat(" ", pad)} {
					b := append(append([]byte(nil), b...), tail...)
					e := 2 + l
					want := e < len(b) && b[e] == '"' && string(b[2:e]) == name
					if got := f.keyAt(b, 2); got != want {
						t.Fatalf("name %q, record %q: keyAt %v, want %v", name, b, got, want)
					}
				}
			}
		}
	}
	for _, name := range []string{`a"b`, `a\b`, "a\x01", "\xff", "a\xc3"} {
		if (&Field{Name: name}).plainName() {
			t.Errorf("%q plain", name)
		}
	}
}

// checkMembersOracle: members is the former walk, with and without a value
// func for "data" (one that types it, one that declines), and when fn stops
// the scan: the same members, the same error text.
func checkMembersOracle(t *testing.T, rec []byte) {
	t.Helper()
	values := []func() func(b []byte, i int) (int, error){
		func() func(b []byte, i int) (int, error) { return nil },
		func() func(b []byte, i int) (int, error) {
			var ty Type
			return func(b []byte, i int) (int, error) {
				end, _, err := ty.ObserveStrictAt(b, i, MaxDepth-1)
				return end, err
			}
		},
		func() func(b []byte, i int) (int, error) {
			return func(b []byte, i int) (int, error) { return -1, nil }
		},
	}
	stop := errors.New("stop")
	for _, mk := range values {
		for stopAt := -1; stopAt < 3; stopAt++ {
			run := func(walk func([]byte, string, func([]byte, int) (int, error), func(k, v []byte) error) error) string {
				var seen []string
				err := walk(rec, "data", mk(), func(k, v []byte) error {
					seen = append(seen, string(k)+"="+string(v))
					if len(seen)-1 == stopAt {
						return stop
					}
					return nil
				})
				return fmt.Sprintf("%q %v", seen, err)
			}
			if got, want := run(MembersWith), run(membersOracle); got != want {
				t.Fatalf("members(%q):\n%s\nformer walk:\n%s", rec, got, want)
			}
		}
	}
}

func TestMembersOracle(t *testing.T) {
	recs := []string{
		`{"event_id":"e","data":` + string(pismoData()) + `}`, ` { "a" : 1, "b\"c":{"x":[1,"}"]} ,"d":"s\"t", "e": null }  `,
		`{}`, ` {} `, `[]`, `1`, ``, ` `, `{`, `{"`, `{"a`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `{"a" 1}`,
		`{"a":1}x`, `{"a":1} x`, `{"a":"x`, "{\"a\":\"\xff\"}", "{\"\xff\":1}", `{"a\q":1}`, `{1:2}`, `{"a":1 "b":2}`,
		`{"data":{"a":1},"data":[}`, `{"data":[1,2}`, `{"data":"\u00e9abcdefghijkl","x":"abcdefghijklmnop"}`,
	}
	for _, r := range append(recs, validateSeeds...) {
		checkMembersOracle(t, []byte(r))
	}
}

func FuzzMembersOracle(f *testing.F) {
	f.Add([]byte(`{"event_id":"e","data":` + string(pismoData()) + `}`))
	f.Add([]byte(` { "a" : 1, "b\"c":{"x":[1,"}"]} ,"d":"s\"t", "e": null }  `))
	f.Add([]byte(`{"data":[1,2}`))
	for _, s := range validateSeeds {
		f.Add([]byte(`{"data":` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, rec []byte) { checkMembersOracle(t, rec) })
}
