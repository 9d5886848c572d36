package partitions

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestNewStage(t *testing.T) {
	lake := t.TempDir()
	s, err := NewStage(stagingDir(lake, "L1"), "L1")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(lake, "_eventlake", "staging", "L1")
	if got := s.Root(); got != want {
		t.Errorf("Root() = %q, want %q", got, want)
	}
	if got := stagingDir(lake, "L1"); got != want {
		t.Errorf("StagingDir = %q, want %q", got, want)
	}
	if got := s.LoadID(); got != "L1" {
		t.Errorf("LoadID() = %q", got)
	}
	st, err := os.Stat(want)
	if err != nil || !st.IsDir() {
		t.Fatalf("staging root not created: %v", err)
	}
	if extra := st.Mode().Perm() &^ 0o755; extra != 0 {
		t.Errorf("staging root mode = %v, want at most 0755", st.Mode().Perm())
	}
	if got, want := s.NextName(), "part-L1-00000.parquet"; got != want {
		t.Errorf("NextName() = %q, want %q", got, want)
	}
	if got, want := s.NextName(), "part-L1-00001.parquet"; got != want {
		t.Errorf("NextName() = %q, want %q", got, want)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Errorf("staging root still exists after Remove: %v", err)
	}
	if err := s.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestNewStageRejectsBadLoadID(t *testing.T) {
	lake := t.TempDir()
	for _, id := range []string{"", ".", "..", "a/b", `a\b`, "a\x00"} {
		if _, err := NewStage(stagingDir(lake, id), id); err == nil {
			t.Errorf("NewStage(%q) succeeded, want error", id)
		}
	}
	if _, err := NewStage("", "L"); err == nil {
		t.Error("NewStage with empty lake dir succeeded")
	}
}

func TestNextNameConcurrentUnique(t *testing.T) {
	s, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 200
	names := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				names[w] = append(names[w], s.NextName())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	for _, ns := range names {
		for _, n := range ns {
			if seen[n] {
				t.Fatalf("duplicate name %q", n)
			}
			seen[n] = true
		}
	}
	if got := len(seen); got != workers*each {
		t.Errorf("got %d names, want %d", got, workers*each)
	}
}

func writeStaged(t *testing.T, lake, loadID, rel, content string) {
	t.Helper()
	p := filepath.Join(stagingDir(lake, loadID), filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPublish(t *testing.T) {
	lake := t.TempDir()
	rel := "events/domain=a%2Fb/event_date=2024-01-02/part-L-00000.parquet"
	writeStaged(t, lake, "L", rel, "hello")

	if err := Publish(lake, stagingDir(lake, "L"), rel); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(lake, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" {
		t.Errorf("published content = %q, want %q", got, "hello")
	}
	if _, err := os.Stat(filepath.Join(stagingDir(lake, "L"), filepath.FromSlash(rel))); !os.IsNotExist(err) {
		t.Errorf("staged file still exists: %v", err)
	}
	// Recovery may publish twice: the second call is a no-op.
	if err := Publish(lake, stagingDir(lake, "L"), rel); err != nil {
		t.Errorf("second Publish: %v", err)
	}
	// A file neither staged nor published is an error.
	if err := Publish(lake, stagingDir(lake, "L"), "events/domain=a/event_date=2024-01-02/part-L-00009.parquet"); err == nil {
		t.Error("Publish of a missing file succeeded")
	}
}

func TestPublishReplacesExistingFinal(t *testing.T) {
	lake := t.TempDir()
	rel := "_rejects/load_date=2024-01-02/part-L-00000.parquet"
	writeStaged(t, lake, "L", rel, "new")
	final := filepath.Join(lake, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(final, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Publish(lake, stagingDir(lake, "L"), rel); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(final)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" {
		t.Errorf("final content = %q, want %q", got, "new")
	}
}

func TestPublishRefusesUnsafePaths(t *testing.T) {
	lake := t.TempDir()
	// Stage a file that a traversal would reach, to be sure refusal is not
	// merely "file missing".
	writeStaged(t, lake, "L", "x", "x")
	for _, rel := range []string{
		"../x",
		"events/../../x",
		"events/..",
		"..",
		"/etc/passwd",
		filepath.Join(lake, "x"),
		"",
		".",
		"./x",
		"events//x",
		`events\..\x`,
		"_eventlake/catalog.db",
		"_eventlake/staging/L/x",
	} {
		if err := Publish(lake, stagingDir(lake, "L"), rel); err == nil {
			t.Errorf("Publish(%q) succeeded, want error", rel)
		}
	}
	if err := Publish(lake, lake+"/_eventlake/staging/..", "x"); err == nil {
		t.Error("Publish with load ID ../L succeeded")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(lake), "x")); !os.IsNotExist(err) {
		t.Errorf("file escaped the lake: %v", err)
	}
	// The staged file is untouched and can still be published normally.
	if err := Publish(lake, stagingDir(lake, "L"), "x"); err != nil {
		t.Errorf("Publish(x): %v", err)
	}
}

// stagingDir is where the lake's layout stages load loadID.
func stagingDir(lake, loadID string) string {
	return filepath.Join(lake, "_eventlake", "staging", loadID)
}
