package shell

import (
	"reflect"
	"testing"
)

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []statement
	}{
		{"single with semicolon", "select 1;", []statement{{"select 1", 1}}},
		{"trailing statement without semicolon", "select 1; select 2", []statement{{"select 1", 1}, {"select 2", 1}}},
		{"empty statements", ";; select 1;;\n;", []statement{{"select 1", 1}}},
		{"only whitespace", " \n\t ", nil},
		{"only comments", "-- nothing\n/* still nothing */;", nil},
		{"semicolon in single quotes", "select 'a;b'; select 2", []statement{{"select 'a;b'", 1}, {"select 2", 1}}},
		{"doubled single quote", "select 'it''s; fine';", []statement{{"select 'it''s; fine'", 1}}},
		{"semicolon in double-quoted identifier", `select 1 as "a;b";`, []statement{{`select 1 as "a;b"`, 1}}},
		{"doubled double quote", `select 1 as "a"";b";`, []statement{{`select 1 as "a"";b"`, 1}}},
		{"escape string", `select E'a\';b'; select 2`, []statement{{`select E'a\';b'`, 1}, {"select 2", 1}}},
		{"backslash in plain string is literal", `select 'a\'; select 2`, []statement{{`select 'a\'`, 1}, {"select 2", 1}}},
		{"identifier ending in e is not an escape string", `select name'x\'; select 2`, []statement{{`select name'x\'`, 1}, {"select 2", 1}}},
		{"dollar quote", "select $$a;b$$; select 2", []statement{{"select $$a;b$$", 1}, {"select 2", 1}}},
		{"tagged dollar quote", "select $fn$ a $$;$$ b $fn$;", []statement{{"select $fn$ a $$;$$ b $fn$", 1}}},
		{"parameter is not a dollar quote", "select $1; select $name;", []statement{{"select $1", 1}, {"select $name", 1}}},
		{"line comment hides semicolon", "select 1 -- not; the end\n, 2;", []statement{{"select 1 -- not; the end\n, 2", 1}}},
		{"block comment hides semicolon", "select /* ; */ 1;", []statement{{"select /* ; */ 1", 1}}},
		{"nested block comments", "select /* a /* b; */ c; */ 1;", []statement{{"select /* a /* b; */ c; */ 1", 1}}},
		{"leading comment dropped and line counted", "-- header\n\n/* x */ select\n  1;", []statement{{"select\n  1", 3}}},
		{"multi-line string", "select 'a\n;b';\nselect 3;", []statement{{"select 'a\n;b'", 1}, {"select 3", 3}}},
		{"minus is not a comment", "select 1-1; select 2", []statement{{"select 1-1", 1}, {"select 2", 1}}},
		{"unterminated string runs as is", "select 'abc", []statement{{"select 'abc", 1}}},
		{"quote characters inside comments", "-- it's\nselect 1; /* \" */ select 2;", []statement{{"select 1", 2}, {"select 2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitSQL(tt.script)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitSQL(%q)\n got %#v\nwant %#v", tt.script, got, tt.want)
			}
		})
	}
}

func TestParseScriptDotCommands(t *testing.T) {
	script := ".mode csv\nselect 1;\n  .timer on\nselect\n.5 as x;\n-- comment\n.tables\nselect 'a\n.not a command';\nselect 3"
	got := parseScript(script)
	want := []scriptItem{
		{statement{".mode csv", 1}, true},
		{statement{"select 1", 2}, false},
		{statement{".timer on", 3}, true},
		{statement{"select\n.5 as x", 4}, false}, // a line starting with '.' inside a statement is SQL
		{statement{".tables", 7}, true},
		{statement{"select 'a\n.not a command'", 8}, false},
		{statement{"select 3", 10}, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseScript\n got %#v\nwant %#v", got, want)
	}
}

func TestSplitterPending(t *testing.T) {
	tests := []struct {
		lines []string
		want  bool
	}{
		{[]string{"select 1;"}, false},
		{[]string{"select 1"}, true},
		{[]string{"select 'a;"}, true},
		{[]string{"select 'a;", "';"}, false},
		{[]string{"/* comment"}, true},
		{[]string{"/* comment */"}, false},
		{[]string{"-- comment"}, false},
		{[]string{"select $$", "body;"}, true},
		{[]string{"select 1; select"}, true},
		{[]string{""}, false},
	}
	for _, tt := range tests {
		sp := newSplitter()
		for _, l := range tt.lines {
			sp.feed(l+"\n", nil)
		}
		if got := sp.pending(); got != tt.want {
			t.Errorf("pending after %q = %v, want %v", tt.lines, got, tt.want)
		}
	}
}

func TestHistoryEntries(t *testing.T) {
	tests := []struct {
		lines []string
		want  []string
	}{
		{[]string{"select 1;"}, []string{"select 1;"}},
		{[]string{"select 'hello' ||", "  ' world' as g;"}, []string{"select 'hello' || ' world' as g;"}},
		{[]string{"select 1 -- one", "+ 1;"}, []string{"select 1 -- one", "+ 1;"}},
		{[]string{"select 'a", "b';"}, []string{"select 'a", "b';"}},
		{[]string{"", "  "}, nil},
	}
	for _, tt := range tests {
		if got := historyEntries(tt.lines); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("historyEntries(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}
