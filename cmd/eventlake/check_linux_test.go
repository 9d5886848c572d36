package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// check runs as another Unix user with read access only, on a read-only
// mount, and changes nothing.
func TestCheckReadOnly(t *testing.T) {
	readerBinary(t)
	lake, _, _ := sharedLake(t)
	home := userHome(t, nobody)
	mnt := roMount(t, lake)
	before := treeState(t, lake)
	code, out, errOut := runAs(t, nobody, home, nil, "check", "--lake", mnt, "--json")
	var r struct {
		OK    bool `json:"ok"`
		Files int  `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.OK || r.Files == 0 {
		t.Fatalf("check as nobody on a read-only mount: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if after := treeState(t, lake); !slices.Equal(before, after) {
		t.Errorf("check changed the lake:\nbefore %q\nafter  %q", before, after)
	}
	// A damaged file is found there too.
	var victim string
	for _, s := range treeState(t, filepath.Join(lake, "events")) {
		if p := strings.Fields(s)[0]; strings.HasSuffix(p, ".parquet") {
			victim = filepath.Join(lake, "events", p)
			break
		}
	}
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before = treeState(t, lake)
	code, out, errOut = runAs(t, nobody, home, nil, "check", "--lake", mnt)
	if code != 1 || !strings.Contains(out, filepath.Base(victim)) {
		t.Errorf("check of a damaged file as nobody: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := treeState(t, lake); !slices.Equal(before, after) {
		t.Errorf("check changed the lake:\nbefore %q\nafter  %q", before, after)
	}
}
