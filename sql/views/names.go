package views

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Quote makes any string a DuckDB identifier: double quotes, embedded
// quotes doubled. A hostile value such as `x"; drop table y; --` becomes a
// harmless (if odd) name.
func Quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Literal makes any string a SQL string literal.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Sanitize turns a data-derived value (a domain, an event type) into a
// lower-case identifier an analyst can type unquoted: runs of characters
// outside [a-z0-9_] become one '_', a leading digit gets a '_' prefix, and
// the result is at most 63 bytes. "card-blocked-1" → "card_blocked_1".
func Sanitize(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_'
		if !ok {
			if !under && b.Len() > 0 {
				b.WriteByte('_')
				under = true
			}
			continue
		}
		b.WriteRune(r)
		under = r == '_'
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" {
		out = "unnamed"
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// reserved names a data-derived schema must not take.
var reserved = map[string]bool{
	"main": true, "eventlake": true, "information_schema": true, "pg_catalog": true, "temp": true, "system": true,
	"memory": true, "events": true, "events_raw": true,
}

// suffix is the stable collision suffix of a raw value.
func suffix(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return "_" + hex.EncodeToString(h[:3])
}

// Assign gives each raw value a unique sanitized name. A name taken by a
// single raw value is used as is; when several raw values sanitize to the
// same name, each gets a stable suffix derived from its own text (except a
// value that already equals the name). Names are compared case-blind, as
// DuckDB compares identifiers.
func Assign(raws []string) map[string]string {
	byName := map[string][]string{}
	for _, r := range raws {
		n := Sanitize(r)
		byName[n] = append(byName[n], r)
	}
	out := map[string]string{}
	for n, rs := range byName {
		sort.Strings(rs)
		for _, r := range rs {
			switch {
			case reserved[n]:
				out[r] = n + suffix(r)
			case len(rs) == 1 || r == n:
				out[r] = n
			default:
				out[r] = n + suffix(r)
			}
		}
	}
	return out
}

// dedupe makes column names unique case-blind, appending _2, _3, ….
func dedupe(names []string, taken map[string]bool) []string {
	out := make([]string, len(names))
	for i, n := range names {
		c := n
		for k := 2; taken[strings.ToLower(c)]; k++ {
			c = n + "_" + itoa(k)
		}
		taken[strings.ToLower(c)] = true
		out[i] = c
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
