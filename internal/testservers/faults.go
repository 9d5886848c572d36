package testservers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is what S3Faults does to one object GET.
type Fault int

// The faults S3Faults can inject.
const (
	// Pass forwards the request untouched.
	Pass Fault = iota
	// InternalError answers 500 InternalError (S3 XML error body).
	InternalError
	// SlowDown answers 503 SlowDown (S3 XML error body), S3's throttling.
	SlowDown
	// CutBody sends the real status and headers (full Content-Length) and
	// the first half of the body, then closes the connection.
	CutBody
	// CutRequest (writes) closes the connection before the request reaches
	// the server: nothing is written, the client sees a broken connection.
	CutRequest
	// CommitThenCut (writes) lets the server do the write, then closes the
	// connection without an answer: a write that succeeded but whose
	// client saw it fail (a timeout after the commit).
	CommitThenCut
	// Die makes this request and every later one hang, answering nothing,
	// until the client gives up or Revive is called: a store that stopped
	// answering mid-load. A store dies once: later Die faults pass.
	Die
)

func (f Fault) String() string {
	switch f {
	case Pass:
		return "pass"
	case InternalError:
		return "500 InternalError"
	case SlowDown:
		return "503 SlowDown"
	case CutBody:
		return "cut body"
	case CutRequest:
		return "cut request"
	case CommitThenCut:
		return "commit then cut"
	case Die:
		return "die"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// FaultCounts is what an S3Faults handler saw and did.
type FaultCounts struct {
	Requests   int // every request
	ObjectGets int // GETs of an object (not listings)
	RangedGets int // object GETs with a Range header (resumed reads)
	Writes     int // PUTs, POSTs and DELETEs of an object (copies included)
	// Injected faults (Cuts counts cut bodies and cut requests).
	InternalErrors, SlowDowns, Cuts, CommitCuts int
	Hung                                        int // requests left unanswered (Die)
}

// S3Faults is middleware for S3 that injects faults on object GETs,
// deterministically: the plan maps "bucket/key" to the faults of that
// object's first, second, … GET; later GETs, and all other requests, pass.
// Keying the plan by object (not by arrival order) keeps the injected
// faults the same however concurrent readers interleave.
//
// OnWrites adds a plan for writes (PUT, POST, DELETE of an object, server-side
// copies included), keyed by "bucket/key" prefix (the longest matching
// prefix applies) and counted per object, so that "every staged upload's
// first PUT fails" is one entry.
type S3Faults struct {
	mu     sync.Mutex
	plan   map[string][]Fault
	gets   map[string]int
	writes map[string][]Fault
	puts   map[string]int
	counts FaultCounts
	dead   chan struct{} // open while dead (Die): closed by Revive
	died   bool          // Die happened (later Die faults pass)
}

// Revive ends a Die: hanging requests are cut, later ones pass.
func (f *S3Faults) Revive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead != nil {
		close(f.dead)
		f.dead = nil
	}
}

// OnWrites sets the plan for writes (which it copies) and returns f.
func (f *S3Faults) OnWrites(plan map[string][]Fault) *S3Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = make(map[string][]Fault, len(plan))
	for k, v := range plan {
		f.writes[k] = append([]Fault(nil), v...)
	}
	f.puts = map[string]int{}
	return f
}

// writeFault returns the fault of the next write of name (f.mu held).
func (f *S3Faults) writeFault(name string) Fault {
	best := ""
	found := false
	for p := range f.writes {
		if strings.HasPrefix(name, p) && (!found || len(p) > len(best)) {
			best, found = p, true
		}
	}
	if !found {
		return Pass
	}
	n := f.puts[name]
	f.puts[name]++
	if n < len(f.writes[best]) {
		return f.writes[best][n]
	}
	return Pass
}

// NewS3Faults returns a fault injector following plan (which it copies).
func NewS3Faults(plan map[string][]Fault) *S3Faults {
	p := make(map[string][]Fault, len(plan))
	for k, v := range plan {
		p[k] = append([]Fault(nil), v...)
	}
	return &S3Faults{plan: p, gets: map[string]int{}}
}

// Counts returns what the injector saw and did so far.
func (f *S3Faults) Counts() FaultCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts
}

// Middleware wraps an S3 handler (path-style requests) with the injector;
// pass it to S3.
func (f *S3Faults) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		objectGet := r.Method == http.MethodGet && key != ""
		fault := Pass
		f.mu.Lock()
		f.counts.Requests++
		dead := f.dead
		if objectGet {
			f.counts.ObjectGets++
			if r.Header.Get("Range") != "" {
				f.counts.RangedGets++
			}
			name := bucket + "/" + key
			if n := f.gets[name]; n < len(f.plan[name]) {
				fault = f.plan[name][n]
			}
			f.gets[name]++
		}
		if key != "" && (r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodDelete) {
			f.counts.Writes++
			fault = f.writeFault(bucket + "/" + key)
		}
		if fault == Die && dead == nil && !f.died { // a store dies once
			f.died = true
			f.dead = make(chan struct{})
			dead = f.dead
		}
		f.mu.Unlock()
		if dead != nil {
			f.count(func(c *FaultCounts) { c.Hung++ })
			select {
			case <-r.Context().Done():
			case <-dead:
			case <-time.After(2 * time.Minute): // never hold up the server's Close for long
			}
			hangUp(w)
			return
		}

		switch fault {
		case InternalError:
			f.count(func(c *FaultCounts) { c.InternalErrors++ })
			writeS3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		case SlowDown:
			f.count(func(c *FaultCounts) { c.SlowDowns++ })
			writeS3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		case CutBody:
			cutBody(w, r, next, func() { f.count(func(c *FaultCounts) { c.Cuts++ }) })
		case CutRequest:
			f.count(func(c *FaultCounts) { c.Cuts++ })
			hangUp(w)
		case CommitThenCut:
			next.ServeHTTP(httptest.NewRecorder(), r)
			f.count(func(c *FaultCounts) { c.CommitCuts++ })
			hangUp(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (f *S3Faults) count(fn func(*FaultCounts)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.counts)
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", "TESTFAULT0000001")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>TESTFAULT0000001</RequestId><HostId>dGVzdA==</HostId></Error>`, code, msg)
}

// cutBody answers with next's status and headers and half of its body, then
// closes the connection. An answer that is not a 2xx with a body of at
// least 2 bytes is sent whole (there is nothing to cut); cut runs only when
// a body was really cut.
func cutBody(w http.ResponseWriter, r *http.Request, next http.Handler, cut func()) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	res := rec.Result()
	body := rec.Body.Bytes()
	hj, ok := w.(http.Hijacker)
	if res.StatusCode/100 != 2 || len(body) < 2 || !ok {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	res.Header.Set("Content-Length", fmt.Sprint(len(body)))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
	res.Header.Write(buf)
	buf.WriteString("\r\n")
	buf.Write(body[:len(body)/2])
	buf.Flush()
	cut()
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
