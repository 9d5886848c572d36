package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestMembers(t *testing.T) {
	var got [][2]string
	err := Members([]byte(` { "a" : 1, "b\"c":{"x":[1,"}"]} ,"d":"s\"t", "e": null }  `), func(k, v []byte) error {
		got = append(got, [2]string{string(k), string(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"a", "1"}, {`b\"c`, `{"x":[1,"}"]}`}, {"d", `"s\"t"`}, {"e", "null"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("members = %q, want %q", got, want)
	}
	if err := Members([]byte(`{}`), func(k, v []byte) error { t.Error("called on {}"); return nil }); err != nil {
		t.Error(err)
	}
	if err := Members([]byte(`[1]`), nil); !errors.Is(err, ErrNotObject) {
		t.Errorf("array: %v", err)
	}
	stop := errors.New("stop")
	if err := Members([]byte(`{"a":1,"b":2}`), func(k, v []byte) error { return stop }); err != stop {
		t.Errorf("callback error = %v", err)
	}
}

// FuzzMembers: Members accepts exactly what Validate accepts (for objects),
// and the members reassemble to what encoding/json sees.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"c":"}"}]},"d":"x"}`, `{"a":1,}`, `{"a" 1}`, `{"a":tru}`, `{}`, `[]`, `{"\u0041":1}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := Members(b, func(k, v []byte) error {
			n++
			if Validate(v) != nil {
				t.Fatalf("member value %q is not valid JSON", v)
			}
			return nil
		})
		verr := Validate(b)
		if (err == nil || errors.Is(err, ErrNotObject)) != (verr == nil) {
			t.Fatalf("Members error %v, Validate error %v for %q", err, verr, b)
		}
		if err == nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) == nil && len(m) > n {
				t.Fatalf("%d members seen, encoding/json sees %d in %q", n, len(m), b)
			}
		}
	})
}

// checkMembersPrefix holds MembersPrefix to MembersWith: an object that
// MembersWith takes whole is taken by MembersPrefix followed by anything,
// ending where it ends, with the same members; and whatever MembersPrefix
// takes, MembersWith takes up to the end it reported, with the same
// members. (A reader of concatenated objects relies on both: records found
// by the prefix walk are the records the splitter would have found.)
func checkMembersPrefix(t *testing.T, rec []byte) {
	t.Helper()
	ty := &Type{}
	walk := func(f func([]byte, string, func([]byte, int) (int, error), func(k, v []byte) error) (int, error), b []byte) (int, string, error) {
		var seen []string
		end, err := f(b, "data", func(b []byte, i int) (int, error) {
			end, _, err := ty.ObserveStrictAt(b, i, MaxDepth-1)
			return end, err
		}, func(k, v []byte) error {
			seen = append(seen, string(k)+"="+string(v))
			return nil
		})
		return end, fmt.Sprintf("%q", seen), err
	}
	whole := func(b []byte, key string, value func([]byte, int) (int, error), fn func(k, v []byte) error) (int, error) {
		return len(b), MembersWith(b, key, value, fn)
	}
	for _, suffix := range []string{"", " ", "\n", "\n{\"a\":1}", "{", "}", "x", "\"", "]", "\xff"} {
		b := append(append([]byte(nil), rec...), suffix...)
		if len(b) == 0 || b[0] != '{' {
			continue
		}
		end, seen, err := walk(MembersPrefix, b)
		if err != nil {
			if _, _, werr := walk(whole, rec); werr == nil && len(rec) > 0 && rec[0] == '{' {
				t.Fatalf("MembersWith takes %q, MembersPrefix refuses it followed by %q: %v", rec, suffix, err)
			}
			continue
		}
		if end <= 0 || end > len(b) || b[end-1] != '}' {
			t.Fatalf("MembersPrefix(%q) = %d: not the end of an object", b, end)
		}
		if _, wseen, werr := walk(whole, b[:end]); werr != nil || wseen != seen {
			t.Fatalf("MembersPrefix(%q) takes %q with %s, MembersWith: %s, %v", b, b[:end], seen, wseen, werr)
		}
		if _, _, werr := walk(whole, rec); werr == nil && end != len(bytes.TrimRight(rec, " \t\r\n")) {
			t.Fatalf("MembersPrefix(%q) ends at %d, the object is %d bytes", b, end, len(rec))
		}
	}
}

func TestMembersPrefix(t *testing.T) {
	recs := []string{`{}`, `{"a":1}`, `{"a":1}x`, `{"data":{"a":[1,{"b":"}"}]},"x":"{"}`, `{"a":"\"}"}`, `{"a":1,}`,
		`{"a"` + "\n" + `:` + "\n" + `1}`, `{"data":{"a":1},"data":2}`, `{"a":{"b":{"c":{}}}}`, `{"a":"x`, `{`}
	for _, r := range append(recs, validateSeeds...) {
		checkMembersPrefix(t, []byte(r))
	}
	if _, err := MembersPrefix([]byte(` {"a":1}`), "", nil, func(k, v []byte) error { return nil }); err == nil {
		t.Fatal("MembersPrefix takes a buffer that does not start with '{'")
	}
}

func FuzzMembersPrefix(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"event_id":"e","data":{"a":[1,2,{"b":null}]},"x":true}`))
	f.Fuzz(func(t *testing.T, rec []byte) { checkMembersPrefix(t, rec) })
}
