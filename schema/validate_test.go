package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eventlake/eventlake/internal/cputime"
)

func TestValidate(t *testing.T) {
	valid := []string{
		`0`, `-0`, `1`, `-1`, `123`, `1.5`, `-1.5e10`, `1E+2`, `1e-2`, `0.0`, `0e0`, `1234567890123456789012345678901234567890`,
		`true`, `false`, `null`, `""`, `"a"`, `" \t"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9"`,
		`"\ud800"`, `"\udc00"`, `"\ud834\udd1e"`, `"\uDBFF\uDFFF"`, // lone surrogates are valid syntax
		`"é中😀"`, "\"\u007f\"", `"` + strings.Repeat("abcdefgh", 20) + `"`,
		`[]`, `{}`, ` [ ] `, "\t\r\n{}\n", `[1,2,3]`, `[[],[{}]]`, `{"a":1}`, `{"a":{"b":[1,"x",null]}}`,
		`{"a":1,"a":2}`, `{"":0}`, `{ "a" : 1 , "b" : [ true , false ] }`,
		`[1e5, -0.25E-3, 0.5]`, `{"k\u0000":"\u0000"}`,
	}
	for _, s := range valid {
		if err := Validate([]byte(s)); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", s, err)
		}
	}
	invalid := []struct{ in, want string }{
		{``, "at byte 0: empty input"},
		{`   `, "at byte 3: unexpected end of input"},
		{`[1,]`, "at byte 3: unexpected ']' in array, want a value"},
		{`[1,2,]`, "at byte 5: unexpected ']'"},
		{`{"a":1,}`, "at byte 7: unexpected '}' in object, want a string key"},
		{`{,}`, "at byte 1: unexpected ','"},
		{`[,1]`, "at byte 1: unexpected ','"},
		{`01`, "at byte 1: leading zero"},
		{`-01`, "at byte 2: leading zero"},
		{`[00]`, "leading zero"},
		{`1.`, "at byte 2: unexpected end of input in number"},
		{`.1`, "at byte 0: unexpected '.'"},
		{`-`, "at byte 1: unexpected end of input in number"},
		{`-a`, "at byte 1: unexpected 'a' in number"},
		{`1e`, "at byte 2: unexpected end of input in number"},
		{`1e+`, "at byte 3"},
		{`1.e5`, "at byte 2: unexpected 'e' in number"},
		{`+1`, "at byte 0: unexpected '+'"},
		{`NaN`, "at byte 0: unexpected 'N'"},
		{`Infinity`, "at byte 0"},
		{`-Infinity`, "at byte 1"},
		{`tru`, "at byte 3: unexpected end of input in literal true"},
		{`trUe`, "at byte 2: unexpected 'U' in literal true"},
		{`nul`, "literal null"},
		{`True`, "unexpected 'T'"},
		{`"abc`, "at byte 4: unexpected end of input in string starting at byte 0"},
		{`["abc]`, "unexpected end of input in string"},
		{`"\`, "unexpected end of input in string escape"},
		{`"\x"`, "at byte 2: invalid escape '\\x'"},
		{`"\u12"`, "at byte 5: invalid hex digit '\"'"},
		{`"\u12G4"`, "invalid hex digit 'G'"},
		{`"\U0041"`, "invalid escape"},
		{"\"a\nb\"", "at byte 2: control character 0x0a in string"},
		{"\"\t\"", "control character 0x09"},
		{"\"\x00\"", "control character 0x00"},
		{"\"\xff\"", "at byte 1: invalid UTF-8 byte 0xff"},
		{"\"\xc3\"", "invalid UTF-8"},             // truncated
		{"\"\xc0\x80\"", "invalid UTF-8"},         // overlong
		{"\"\xed\xa0\x80\"", "invalid UTF-8"},     // UTF-8-encoded surrogate
		{"\"\xf4\x90\x80\x80\"", "invalid UTF-8"}, // beyond U+10FFFF
		{"\"abcdefghijkl\xe9mnop\"", "at byte 13: invalid UTF-8"},
		{`{"a" 1}`, "at byte 5: unexpected '1' in object, want ':'"},
		{`{a:1}`, "at byte 1: unexpected 'a' in object, want a string key"},
		{`{"a":1 "b":2}`, "at byte 7: unexpected '\"' in object, want ',' or '}'"},
		{`[1 2]`, "at byte 3: unexpected '2' in array, want ',' or ']'"},
		{`[1}`, "unexpected '}' in array"},
		{`{"a":1]`, "unexpected ']' in object"},
		{`[`, "at byte 1: unexpected end of input in array"},
		{`{`, "unexpected end of input in object"},
		{`{"a":`, "unexpected end of input in object"},
		{`1 2`, "at byte 2: unexpected '2' after top-level value"},
		{`{} {}`, "after top-level value"},
		{"1\x00", "byte 0x00 after top-level value"},
		{"\u00a0 1", "at byte 0: unexpected byte 0xc2"}, // NBSP is not JSON whitespace
		{"\f1", "unexpected byte 0x0c"},
		{`'a'`, "unexpected '\\''"},
	}
	for _, c := range invalid {
		err := Validate([]byte(c.in))
		if err == nil {
			t.Errorf("Validate(%q) = nil, want error containing %q", c.in, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%q) = %q, want it to contain %q", c.in, err, c.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Validate(%q) error %T is not a *SyntaxError", c.in, err)
		}
		if !strings.HasPrefix(err.Error(), "invalid JSON at byte ") {
			t.Errorf("Validate(%q) = %q, want the \"invalid JSON at byte N: …\" form", c.in, err)
		}
	}
}

func TestValidateErrorExample(t *testing.T) {
	got := Validate([]byte(`{"card_id": 1, x}`))
	want := "invalid JSON at byte 15: unexpected 'x' in object, want a string key"
	if got == nil || got.Error() != want {
		t.Fatalf("got %v, want %q", got, want)
	}
}

func nested(depth int, open, close string) []byte {
	return []byte(strings.Repeat(open, depth) + strings.Repeat(close, depth))
}

func TestValidateDepth(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  []byte
		want string // "" = valid, else a substring of the error
	}{
		{"arrays at MaxDepth", nested(MaxDepth, "[", "]"), ""},
		{"objects at MaxDepth", []byte(strings.Repeat(`{"a":`, MaxDepth-1) + "{}" + strings.Repeat("}", MaxDepth-1)), ""},
		{"mixed at MaxDepth", []byte(strings.Repeat(`[{"k":`, MaxDepth/2) + "1" + strings.Repeat("}]", MaxDepth/2)), ""},
		{"arrays one deeper", nested(MaxDepth+1, "[", "]"), "at byte 10000: nesting deeper than 10000"},
		{"arrays 100000 deep", nested(100000, "[", "]"), "nesting deeper than 10000"},
		{"objects 100000 deep", []byte(strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)), "nesting deeper than 10000"},
		{"unclosed 9000", []byte(strings.Repeat("[", 9000)), "at byte 9000: unexpected end of input in array"},
		{"mismatch deep in", []byte(strings.Repeat("[", 300) + strings.Repeat("]", 299) + "}"), "at byte 599: unexpected '}' in array"},
	} {
		err := Validate(c.doc)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: Validate = %v, want an error containing %q", c.name, err, c.want)
		}
		// encoding/json has the same limit.
		if got := json.Valid(c.doc); got != (c.want == "") {
			t.Errorf("%s: json.Valid = %v, disagrees", c.name, got)
		}
	}
}

func TestValidateNoAllocs(t *testing.T) {
	doc := pismoData()
	if n := testing.AllocsPerRun(100, func() {
		if err := Validate(doc); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Validate allocates %v times per run, want 0", n)
	}
}

// agrees checks Validate against encoding/json.Valid plus utf8.Valid (for
// a valid JSON document, "strings are valid UTF-8" is the same as "the
// document is valid UTF-8"). Documents nested deeper than MaxDepth are
// invalid for both, so no exception is needed in practice, but the
// documented limit is excluded anyway in case the standard library changes.
func agrees(t *testing.T, doc []byte) {
	t.Helper()
	err := Validate(doc)
	want := json.Valid(doc) && utf8.Valid(doc)
	if err != nil && strings.Contains(err.Error(), "nesting deeper than") {
		return
	}
	if (err == nil) != want {
		t.Errorf("Validate(%q) = %v, but json.Valid && utf8.Valid = %v", doc, err, want)
	}
}

func TestValidateAgreesWithStdlib(t *testing.T) {
	for _, s := range validateSeeds {
		agrees(t, []byte(s))
		// every prefix, and every one-byte corruption of short seeds
		for i := 0; i < len(s); i++ {
			agrees(t, []byte(s[:i]))
			if len(s) < 64 {
				for _, c := range []byte{'"', '\\', ',', ']', '}', 0, 0x1f, 0x80, 0xff, ' ', '0', 'e', '.', '-'} {
					b := []byte(s)
					b[i] = c
					agrees(t, b)
				}
			}
		}
	}
}

var validateSeeds = []string{
	`{"a":[1,2.5,-3e2,true,false,null,"x\u00e9\n"],"b":{}}`,
	`[{"k":"v"},[],[[]],"\ud83d\ude00","é"]`,
	`{"event_id":"252212bf","n":0,"f":-0.0e-0,"s":"a\"b\\c"}`,
	`"\u0000\u001f\/"`,
	` [ 1 , 2 ] `,
	`-123.456E+789`,
	"\"日本語テキスト and more ascii text\"",
}

func FuzzValidate(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[1,]`))
	f.Add([]byte(`01`))
	f.Add([]byte("\"\xed\xa0\x80\""))
	f.Add(pismoData())
	f.Fuzz(func(t *testing.T, doc []byte) {
		agrees(t, doc)
	})
}

func BenchmarkValidate(b *testing.B) {
	doc := pismoData()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if err := Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidatePretty(b *testing.B) {
	doc := pismoDataPretty()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if err := Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}
