package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonKeys lists the top-level JSON keys of a documented output type,
// following embedded structs as encoding/json does.
func jsonKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			keys = append(keys, jsonKeys(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

// readmeJSONSection returns the README's description of one --json output
// ("#### `load --json`" under "Command-line conventions").
func readmeJSONSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(testdata("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, conv, ok := strings.Cut(string(b), "\n## Command-line conventions\n")
	if !ok {
		t.Fatal("README has no Command-line conventions section")
	}
	conv, _, _ = strings.Cut(conv, "\n## ")
	_, sec, ok := strings.Cut(conv, "\n#### `"+heading+"`")
	if !ok {
		t.Fatalf("README's Command-line conventions do not describe %s", heading)
	}
	sec, _, _ = strings.Cut(sec, "\n#### ")
	return sec
}

// checkJSONContract checks one --json output against its documented type:
// it decodes with no unknown key, carries "format": 1, has every key
// present (none left out for being empty or zero), and the README lists
// every key.
func checkJSONContract(t *testing.T, heading, out string, doc any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc); err != nil {
		t.Fatalf("%s: output does not decode as documented: %v\n%s", heading, err, out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	if f := string(raw["format"]); f != "1" {
		t.Errorf("%s: format = %q, want 1", heading, f)
	}
	sec := readmeJSONSection(t, heading)
	for _, k := range jsonKeys(reflect.TypeOf(doc)) {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s: key %q missing from the output:\n%s", heading, k, out)
		}
		if !strings.Contains(sec, "`"+k+"`") {
			t.Errorf("%s: the README does not list key %q", heading, k)
		}
	}
	if v, ok := raw["errors"]; ok && bytes.Equal(v, []byte("null")) {
		t.Errorf("%s: errors is null, want []", heading)
	}
}

func TestJSONOutputsFollowTheirDocumentedSchema(t *testing.T) {
	lake := t.TempDir()
	// A clean load: nothing failed, so errors is empty, and still there.
	code, out, errOut := runCLI(t, "load", "--lake", lake, "--json", "-q", testdata("pismo"))
	if code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	checkJSONContract(t, "load --json", out, &loadOutput{})
	if !strings.Contains(out, `"errors":[]`) {
		t.Errorf("load --json: errors not an empty list: %s", out)
	}
	// A load that fails before reading still prints the whole object.
	code, out, _ = runCLI(t, "load", "--lake", lake, "--json", "-q", "/does/not/exist")
	if code != 1 {
		t.Fatalf("failed load: exit %d", code)
	}
	checkJSONContract(t, "load --json", out, &loadOutput{})

	code, out, errOut = runCLI(t, "status", "--lake", lake, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	checkJSONContract(t, "status --json", out, &statusOutput{})
	var st statusOutput
	_ = json.Unmarshal([]byte(out), &st)
	for _, k := range []string{"committed", "duplicate", "quarantined", "failed"} {
		if _, ok := st.Objects[k]; !ok {
			t.Errorf("status --json: objects lacks the zero count %q: %v", k, st.Objects)
		}
	}

	code, out, errOut = runCLI(t, "check", "--lake", lake, "--json")
	if code != 0 {
		t.Fatalf("check: exit %d\n%s", code, errOut)
	}
	checkJSONContract(t, "check --json", out, &checkReport{})

	for _, args := range [][]string{
		{"reprocess", "--lake", lake, "--status", "committed", "--dry-run", "--json"},
		{"forget", "--lake", lake, "--status", "failed", "--json"},
	} {
		code, out, errOut = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		checkJSONContract(t, "reprocess --json", out, &selectionJSON{})
	}

	code, out, errOut = runCLI(t, "catalog", "rebuild", "--lake", lake, "--catalog", filepath.Join(t.TempDir(), "rebuilt.db"), "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("catalog rebuild: exit %d\n%s", code, errOut)
	}
	checkJSONContract(t, "catalog rebuild --json", out, &rebuildJSON{})

	// compact for real, then again with nothing left to compact and no
	// query cache: the keys stay.
	for _, args := range [][]string{
		{"compact", "--lake", lake, "--min-files", "1", "--json"},
		{"compact", "--lake", lake, "--json", "--query-cache=false"},
		{"compact", "--lake", lake, "--min-files", "1", "--dry-run", "--json"},
	} {
		code, out, errOut = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		checkJSONContract(t, "compact --json", out, &compactOutput{})
	}

	// expire: nothing old enough, then a dry run that would expire all.
	for _, args := range [][]string{
		{"expire", "--lake", lake, "--before", "1971-01-01", "--json"},
		{"expire", "--lake", lake, "--before", "2999-01-01", "--dry-run", "--json"},
	} {
		code, out, errOut = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		checkJSONContract(t, "expire --json", out, &expireOutput{})
		if !strings.Contains(out, `"absent_tables":[]`) {
			t.Errorf("expire --json: absent_tables not an empty list: %s", out)
		}
	}

	// repair on a healthy lake: nothing to do, every list empty.
	for _, args := range [][]string{
		{"repair", "--lake", lake, "--dry-run", "--json"},
		{"repair", "--lake", lake, "--json"},
	} {
		code, out, errOut = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		checkJSONContract(t, "repair --json", out, &repairReport{})
	}
}
