package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppend(t *testing.T) {
	cases := map[string]string{
		"plain":         `"plain"`,
		`q"b\`:          `"q\"b\\"`,
		"nl\n\r\t":      `"nl\n\r\t"`,
		"\x01\x7f":      `"\u0001\u007f"`,
		"<&>":           `"<&>"`,
		"é\u2028\u2029": `"é\u2028\u2029"`,
		"bad\xffutf8":   `"bad\ufffdutf8"`,
		"":              `""`,
	}
	for in, want := range cases {
		got := string(Append(nil, in))
		if got != want {
			t.Errorf("Append(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("Append(%q) = %s is not JSON: %v", in, got, err)
		}
	}
}
