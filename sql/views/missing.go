package views

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// A live file that is missing on disk (a partition folder deleted by hand,
// a lost disk) or no longer has the size it was written with (truncated,
// replaced) would make DuckDB fail every statement that touches a view over
// it, whatever the statement reads. Before the views name a file, they stat
// it (one stat per file: 40-47 ms per 10,000 files on the 2-core
// development VM, ext4, see BenchmarkStatLiveFiles; a few threads do not
// make it faster there) and leave out those that fail, with one warning for
// the session. Damage inside a file of the right size (bit flips) is
// found by `eventlake check`, which reads every byte.

// unavailable collects the live files the views leave out.
type unavailable struct {
	lake  string
	has   func(catalog.FileRecord) bool // Options.Files
	files []string                      // "<path> (<problem>)"
}

// filter returns the files of list that are on disk with their recorded
// size, and records the others.
func (u *unavailable) filter(list []catalog.FileRecord) []catalog.FileRecord {
	out := list[:0:0]
	for _, f := range list {
		if u.ok(f) {
			out = append(out, f)
		}
	}
	return out
}

// filterLive is filter for live files (with their superseded rows).
func (u *unavailable) filterLive(list []catalog.LiveFile) []catalog.LiveFile {
	out := list[:0:0]
	for _, f := range list {
		if u.ok(f.FileRecord) {
			out = append(out, f)
		}
	}
	return out
}

// ok reports whether f is on disk with its recorded size, recording it if not.
func (u *unavailable) ok(f catalog.FileRecord) bool {
	if u.has != nil && !u.has(f) {
		return false
	}
	err := partitions.StatFile(absPath(u.lake, f.Path), f.Bytes)
	if err == nil {
		return true
	}
	kind := "unreadable"
	var p *partitions.FileProblem
	if errors.As(err, &p) {
		kind = p.Kind
		if kind == partitions.ProblemSize {
			kind = "wrong size"
		}
	}
	u.files = append(u.files, fmt.Sprintf("%s (%s)", f.Path, kind))
	return false
}

// maxNamed bounds the files a warning names; eventlake check lists them all.
const maxNamed = 10

// warning is the one warning of a session about the files left out, or "".
func (u *unavailable) warning() string {
	if len(u.files) == 0 {
		return ""
	}
	named := u.files
	more := ""
	if len(named) > maxNamed {
		more = fmt.Sprintf(" and %d more", len(named)-maxNamed)
		named = named[:maxNamed]
	}
	return fmt.Sprintf("%d live files of the lake are missing or damaged on disk; the views leave out their rows "+
		"and answer from the rest of the lake: %s%s. "+
		"Run `eventlake check --lake %s` for the full report. To get the rows back, restore the files from a backup "+
		"to the same paths; without a backup their rows are lost (eventlake cannot reload objects it has already loaded yet)",
		len(u.files), strings.Join(named, ", "), more, shellWord(u.lake))
}

// shellWord quotes s for a copy-pasteable command when needed.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
