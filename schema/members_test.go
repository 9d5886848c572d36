package schema

import (
	"encoding/json"
	"errors"
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
