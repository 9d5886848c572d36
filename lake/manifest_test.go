package lake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Manifests of format 1 (before retirements and supersedes were recorded)
// are still read; a format newer than this eventlake's is refused.
func TestReadManifestFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v1 := write("v1.json", `{"format":1,"seq":3,"load_id":"20240101T000000Z-abcdef","command":"load","sources":[],"started_at":1,"finished_at":2,`+
		`"records":0,"rejects":0,"bytes":0,"files":[],"objects":[],"replaces":["events/a.parquet"]}`)
	m, err := ReadManifest(v1)
	if err != nil {
		t.Fatalf("format 1: %v", err)
	}
	if cm := m.commit(); len(cm.Replaces) != 1 || cm.Retires != nil || cm.Supersedes != nil || !cm.Replayed {
		t.Errorf("format 1 commit: %+v", cm)
	}
	v2 := write("v2.json", `{"format":2,"seq":4,"load_id":"20240101T000000Z-abcdef","command":"forget","sources":[],"started_at":1,"finished_at":2,`+
		`"records":0,"rejects":0,"bytes":0,"files":[],"objects":[],"forget":[{"source":"s3://b/","key":"k","version":"v"}],`+
		`"supersedes":[{"source":"s3://b/","key":"k","version":"v","old_load":"L","old_status":"committed","reason":"forget","rows":3,"rejects":0}],`+
		`"superseded_files":[{"path":"events/a.parquet","rows":3}],"retires":["events/a.parquet"],"reprocess":[]}`)
	if m, err = ReadManifest(v2); err != nil {
		t.Fatalf("format 2: %v", err)
	}
	cm := m.commit()
	if len(cm.Forget) != 1 || len(cm.Supersedes) != 1 || cm.Supersedes[0].OldLoad != "L" || cm.Supersedes[0].Rows != 3 ||
		len(cm.SupersededFiles) != 1 || len(cm.Retires) != 1 {
		t.Errorf("format 2 commit: %+v", cm)
	}
	v9 := write("v9.json", `{"format":9,"load_id":"x"}`)
	if _, err := ReadManifest(v9); err == nil || !strings.Contains(err.Error(), "format 9") {
		t.Errorf("format 9: %v, want refused", err)
	}
}
