package shell

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// completer is the Tab completion of the interactive shell (readline's AutoCompleter): dot commands and their
// arguments at the start of a line, and in SQL the keywords DuckDB knows (duckdb_keywords()), schema names,
// table and view names (schema-qualified after "schema."), and column names: those of the tables and views
// the statement names (or that an alias stands for, after "alias."), or of all when it names none.
//
// Names come from the database and are reloaded after any statement ran (one may have created a view);
// Do runs on readline's goroutine while the shell waits for input, so the connection is free.
type completer struct {
	s *session

	mu      sync.Mutex
	pending string // lines of the statement typed before the current one
	cont    bool   // the current line continues a statement (so a leading '.' is not a dot command)
	gen     int    // statements run so far, when the prompt was shown
	loadGen int    // gen of the loaded names; -1: not loaded
	words   []string
	kw      map[string]bool // keywords, lower case
	reserve map[string]bool // reserved keywords: a column of that name must be quoted
	schemas []string
	rels    []complRel
}

type complRel struct {
	schema, name string
	cols         []string
}

func newCompleter(s *session) *completer { return &completer{s: s, loadGen: -1} }

// setContext is called before each prompt.
func (c *completer) setContext(pending string, cont bool, gen int) {
	c.mu.Lock()
	c.pending, c.cont, c.gen = pending, cont, gen
	c.mu.Unlock()
}

// load reads the names from the database when a statement ran since the last load. Errors leave what is
// known (completion is best effort and must never disturb the session).
func (c *completer) load() {
	if c.loadGen == c.gen {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c.s.before != nil {
		if err := c.s.before(ctx, c.s.conn); err != nil {
			return
		}
	}
	if c.kw == nil {
		kw, reserved := map[string]bool{}, map[string]bool{}
		if rows, err := c.s.conn.QueryContext(ctx, `SELECT keyword_name, keyword_category FROM duckdb_keywords()`); err == nil {
			for rows.Next() {
				var name, cat string
				if rows.Scan(&name, &cat) == nil {
					kw[strings.ToLower(name)] = true
					reserved[strings.ToLower(name)] = cat == "reserved"
				}
			}
			rows.Close()
		}
		c.kw, c.reserve = kw, reserved
	}
	var schemas []string
	if rows, err := c.s.conn.QueryContext(ctx, `SELECT DISTINCT schema_name FROM duckdb_schemas()
		WHERE database_name = current_database() AND schema_name NOT IN ('information_schema', 'pg_catalog')
		ORDER BY 1`); err == nil {
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				schemas = append(schemas, n)
			}
		}
		rows.Close()
	} else {
		return
	}
	var rels []complRel
	rows, err := c.s.conn.QueryContext(ctx, `SELECT schema_name, table_name, column_name FROM duckdb_columns()
		WHERE database_name = current_database() AND NOT internal
		ORDER BY schema_name, table_name, column_index`)
	if err != nil {
		return
	}
	for rows.Next() {
		var schema, table, col string
		if rows.Scan(&schema, &table, &col) != nil {
			continue
		}
		if n := len(rels); n == 0 || rels[n-1].schema != schema || rels[n-1].name != table {
			rels = append(rels, complRel{schema: schema, name: table})
		}
		rels[len(rels)-1].cols = append(rels[len(rels)-1].cols, col)
	}
	if rows.Close() != nil || rows.Err() != nil {
		return
	}
	c.schemas, c.rels, c.loadGen = schemas, rels, c.gen
}

// ident is how a name is written in SQL: as is when DuckDB resolves it unquoted (identifiers are
// case-insensitive, so only other characters and reserved words need quotes), else quoted.
func (c *completer) ident(name string) string {
	low := strings.ToLower(name)
	if quoteIdentIfNeeded(low) == low && !c.reserve[low] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func isWordRune(r rune) bool {
	return r == '_' || r == '.' || r == '"' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Do returns the completions of the word before the cursor: what to insert after it, and its length.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	text := string(line[:pos])
	if !c.cont && strings.HasPrefix(strings.TrimLeft(text, " \t"), ".") {
		return c.dot(strings.TrimLeft(text, " \t"))
	}
	start := pos
	for start > 0 && isWordRune(line[start-1]) {
		start--
	}
	word := string(line[start:pos])
	if word == "" {
		return nil, 0
	}
	c.load()
	return suffixes(c.sql(c.pending+"\n"+string(line), word), word), len([]rune(word))
}

// suffixes keeps the candidates that start with word (ignoring case) and returns what each adds to it.
func suffixes(cands []string, word string) [][]rune {
	slices.Sort(cands)
	cands = slices.Compact(cands)
	w := []rune(strings.ToLower(word))
	var out [][]rune
	for _, cand := range cands {
		r := []rune(cand)
		if len(r) >= len(w) && string([]rune(strings.ToLower(cand))[:len(w)]) == string(w) {
			out = append(out, r[len(w):])
		}
	}
	return out
}

// dot completes a dot command line: the command, then its argument.
func (c *completer) dot(text string) ([][]rune, int) {
	i := strings.LastIndexAny(text, " \t")
	if i < 0 {
		return suffixes(dotCommandNames(), text), len([]rune(text))
	}
	word := text[i+1:]
	var cands []string
	switch strings.ToLower(strings.Fields(text)[0]) {
	case ".mode":
		cands = []string{"table", "box", "duckbox", "csv", "json", "jsonlines", "ndjson", "line", "list", "tabs", "markdown"}
	case ".headers", ".header", ".timer":
		cands = []string{"on", "off"}
	case ".read", ".once", ".output":
		cands = fileCandidates(word)
	case ".schema", ".tables":
		c.load()
		for _, r := range c.rels {
			cands = append(cands, c.ident(r.schema)+"."+c.ident(r.name))
			if r.schema == "main" {
				cands = append(cands, c.ident(r.name))
			}
		}
	}
	return suffixes(cands, word), len([]rune(word))
}

// fileCandidates lists the paths that start with word; folders end with '/'.
func fileCandidates(word string) []string {
	matches, _ := filepath.Glob(globEscape(word) + "*")
	for i, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			matches[i] += "/"
		}
	}
	return matches
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// The completer's expressions are compiled on first use: compiling their
// Unicode classes costs every run of the program ≈ 1.5 ms otherwise.
var (
	tokenRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`"(?:[^"]|"")*"(?:\."(?:[^"]|"")*"|\.[\p{L}_][\p{L}\p{N}_$]*)*|[\p{L}_][\p{L}\p{N}_$]*(?:\.(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*))*`)
	})
	aliasRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(?:from|join|,)\s*((?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*)(?:\.(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*))*)\s+(?:as\s+)?([\p{L}_][\p{L}\p{N}_$]*)`)
	})
)

// normName lowers an unquoted name and unquotes a quoted one, part by part, for matching.
func normName(s string) string {
	parts := splitQualified(s)
	for i, p := range parts {
		if strings.HasPrefix(p, `"`) {
			parts[i] = strings.ReplaceAll(strings.Trim(p, `"`), `""`, `"`)
		} else {
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, ".")
}

// splitQualified splits a.b."c.d" at the dots outside quotes.
func splitQualified(s string) []string {
	var parts []string
	quoted, from := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '.':
			if !quoted {
				parts = append(parts, s[from:i])
				from = i + 1
			}
		}
	}
	return append(parts, s[from:])
}

// lookup finds the relation a (normalized) name stands for: schema.name, or name in main.
func (c *completer) lookup(name string) *complRel {
	for i := range c.rels {
		r := &c.rels[i]
		if strings.EqualFold(name, r.schema+"."+r.name) || r.schema == "main" && strings.EqualFold(name, r.name) {
			return r
		}
	}
	return nil
}

// sql lists the candidates for word in the statement stmt.
func (c *completer) sql(stmt, word string) []string {
	aliases := map[string]*complRel{}
	for _, m := range aliasRe().FindAllStringSubmatch(stmt, -1) {
		if r := c.lookup(normName(m[1])); r != nil && !c.kw[strings.ToLower(m[2])] {
			aliases[strings.ToLower(m[2])] = r
		}
	}
	if i := strings.LastIndexByte(word, '.'); i >= 0 {
		qual := word[:i]
		nq := normName(qual)
		var cands []string
		for _, r := range c.rels {
			if strings.EqualFold(r.schema, nq) {
				cands = append(cands, qual+"."+c.ident(r.name))
			}
		}
		rel := aliases[nq]
		if rel == nil {
			rel = c.lookup(nq)
		}
		if rel != nil {
			for _, col := range rel.cols {
				cands = append(cands, qual+"."+c.ident(col))
			}
		}
		return cands
	}

	var cands []string
	upper := strings.ToUpper(word) == word && strings.ToLower(word) != word
	for k := range c.kw {
		if upper {
			k = strings.ToUpper(k)
		}
		cands = append(cands, k)
	}
	for _, s := range c.schemas {
		cands = append(cands, c.ident(s))
	}
	for a := range aliases {
		cands = append(cands, a)
	}
	var named []*complRel
	for _, t := range tokenRe().FindAllString(stmt, -1) {
		if r := c.lookup(normName(t)); r != nil && !slices.Contains(named, r) {
			named = append(named, r)
		}
	}
	for _, r := range c.rels {
		if r.schema == "main" {
			cands = append(cands, c.ident(r.name))
		}
	}
	if len(named) == 0 {
		for i := range c.rels {
			named = append(named, &c.rels[i])
		}
	}
	for _, r := range named {
		for _, col := range r.cols {
			cands = append(cands, c.ident(col))
		}
	}
	return cands
}
