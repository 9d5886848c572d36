package testservers

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestS3Faults checks that the plan is followed per object and in order,
// that error answers carry S3 error codes, that a cut body ends early with
// the full Content-Length announced, and that the counters say so.
func TestS3Faults(t *testing.T) {
	const body = "0123456789abcdef"
	f := NewS3Faults(map[string][]Fault{
		"b/k": {InternalError, SlowDown, CutBody},
	})
	ts := httptest.NewServer(f.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	})))
	defer ts.Close()
	get := func(path string) (int, string, error) {
		t.Helper()
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		return res.StatusCode, string(data), err
	}

	// Another object, and a listing, are never touched.
	if code, data, err := get("/b/other"); code != 200 || data != body || err != nil {
		t.Errorf("GET /b/other = %d %q %v, want 200 and the body", code, data, err)
	}
	if code, _, err := get("/b/?list-type=2"); code != 200 || err != nil {
		t.Errorf("listing = %d %v, want 200", code, err)
	}
	wantCodes := []struct {
		status int
		code   string
	}{{500, "<Code>InternalError</Code>"}, {503, "<Code>SlowDown</Code>"}}
	for i, w := range wantCodes {
		code, data, err := get("/b/k")
		if code != w.status || !strings.Contains(data, w.code) || err != nil {
			t.Errorf("GET %d of /b/k = %d %q %v, want %d with %s", i+1, code, data, err, w.status, w.code)
		}
	}
	code, data, err := get("/b/k")
	if code != 200 || data != body[:len(body)/2] || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("GET 3 of /b/k = %d %q %v, want 200, half the body and an unexpected EOF", code, data, err)
	}
	if code, data, err := get("/b/k"); code != 200 || data != body || err != nil {
		t.Errorf("GET 4 of /b/k = %d %q %v, want the plan used up and the whole body", code, data, err)
	}
	want := FaultCounts{Requests: 6, ObjectGets: 5, InternalErrors: 1, SlowDowns: 1, Cuts: 1}
	if got := f.Counts(); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

// TestS3WriteFaults checks the write plan: keyed by key prefix, counted per
// object; a 500 and a cut request write nothing, a commit-then-cut writes
// and then closes the connection without an answer.
func TestS3WriteFaults(t *testing.T) {
	written := map[string]int{}
	f := NewS3Faults(nil).OnWrites(map[string][]Fault{
		"b/log/": {InternalError, CutRequest, CommitThenCut},
	})
	ts := httptest.NewServer(f.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			written[r.URL.Path]++
		}
		io.WriteString(w, "ok")
	})))
	defer ts.Close()
	put := func(path string) (int, error) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, ts.URL+path, strings.NewReader("data"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	if code, err := put("/b/other"); code != 200 || err != nil {
		t.Errorf("PUT /b/other = %d %v, want 200", code, err)
	}
	if code, err := put("/b/log/1"); code != 500 || err != nil {
		t.Errorf("PUT 1 of /b/log/1 = %d %v, want 500", code, err)
	}
	if _, err := put("/b/log/1"); err == nil {
		t.Error("PUT 2 of /b/log/1: want a cut connection")
	}
	if written["/b/log/1"] != 0 {
		t.Errorf("a 500 or a cut request wrote /b/log/1 %d times", written["/b/log/1"])
	}
	if _, err := put("/b/log/1"); err == nil {
		t.Error("PUT 3 of /b/log/1: want a cut connection")
	}
	if written["/b/log/1"] != 1 {
		t.Errorf("commit-then-cut wrote /b/log/1 %d times, want 1", written["/b/log/1"])
	}
	if code, err := put("/b/log/1"); code != 200 || err != nil {
		t.Errorf("PUT 4 of /b/log/1 = %d %v, want the plan used up", code, err)
	}
	if code, err := put("/b/log/2"); code != 500 || err != nil {
		t.Errorf("PUT 1 of /b/log/2 = %d %v, want 500 (the plan is per object)", code, err)
	}
	c := f.Counts()
	if c.Writes != 6 || c.InternalErrors != 2 || c.Cuts != 1 || c.CommitCuts != 1 {
		t.Errorf("counts = %+v", c)
	}
}
