package termtext

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain key.ndjson":          "plain key.ndjson",
		"a\nb\tc\r\x00":             `a\nb\tc\r\x00`,
		"red\x1b[31mtext":           `red\x1B[31mtext`,
		"bidi\u202etxt.exe":         `bidi\u202Etxt.exe`,
		"bad\xffutf8":               "bad\uFFFDutf8",
		"c1 \u009b control, été ok": `c1 \x9B control, été ok`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := Lines("LINE 1:\x1b[2J\nselect"), "LINE 1:\\x1B[2J\nselect"; got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}
