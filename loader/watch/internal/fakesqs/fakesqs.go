// Package fakesqs is an in-process Amazon SQS server for tests. It speaks
// the AWS JSON 1.0 protocol the AWS SDK for Go v2 uses (POST /, X-Amz-Target:
// AmazonSQS.<Action>, Content-Type: application/x-amz-json-1.0) and models
// what a queue consumer depends on:
//
//   - standard queues delivering messages in send order;
//   - visibility timeouts: a received message is invisible until its timeout
//     passes, ChangeMessageVisibility moves that deadline, and a deleted
//     message never comes back;
//   - receipt handles: each receipt gets a new handle; deleting with a stale
//     handle (from before a redelivery) succeeds without deleting, as SQS
//     documents;
//   - receive counts, and a redrive policy: a message received
//     maxReceiveCount times moves to the dead-letter queue instead of being
//     delivered again;
//   - long polling (WaitTimeSeconds), ended early by a new message, by a
//     message becoming visible again, or by the client going away;
//   - fault injection (500 InternalError for the next n calls of an action).
//
// Actions: ReceiveMessage, DeleteMessage, DeleteMessageBatch,
// ChangeMessageVisibility, ChangeMessageVisibilityBatch, SendMessage,
// GetQueueAttributes. Requests are not authenticated.
//
// The clock is the real one plus an offset that Advance moves forward, so a
// test can make visibility timeouts expire without waiting for them.
package fakesqs

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// QueueOptions configure a queue.
type QueueOptions struct {
	// VisibilityTimeout is the default visibility timeout (default 30s).
	VisibilityTimeout time.Duration
	// DeadLetter names the dead-letter queue (created first); with
	// MaxReceiveCount > 0 it is the queue's redrive policy.
	DeadLetter      string
	MaxReceiveCount int
}

// Message is a snapshot of one message, for assertions.
type Message struct {
	ID           string
	Body         string
	ReceiveCount int
	// Visible reports whether a ReceiveMessage now could return it.
	Visible bool
	// VisibilityChanges counts successful ChangeMessageVisibility calls.
	VisibilityChanges int
}

type message struct {
	id, body          string
	sent              time.Time
	firstReceive      time.Time
	visibleAt         time.Time
	receiveCount      int
	receipt           string // current receipt handle ("" before the first receive)
	visibilityChanges int
}

type queue struct {
	name       string
	vt         time.Duration
	dlq        *queue
	maxReceive int
	msgs       []*message // in send order
	deleted    []string   // IDs, in deletion order
	receives   int        // deliveries, redeliveries included
}

// Server is a fake SQS endpoint. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint (http://127.0.0.1:port) to give the SDK as
	// BaseEndpoint. Queue URLs are URL + "/000000000000/" + name.
	URL string

	srv *httptest.Server

	mu      sync.Mutex
	offset  time.Duration
	queues  map[string]*queue
	calls   map[string]int
	faults  map[string]int
	changed chan struct{} // closed and replaced on every state change
}

// New starts a server on 127.0.0.1. Close stops it.
func New() *Server {
	s := &Server{queues: map[string]*queue{}, calls: map[string]int{}, faults: map[string]int{}, changed: make(chan struct{})}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close stops the server, ending pending long polls.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// now is the server's clock; s.mu must be held.
func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

// notify wakes long polls; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Advance moves the server's clock forward (visibility timeouts expire).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	s.notify()
}

// CreateQueue creates a queue and returns its URL. It panics on a
// duplicate name or an unknown dead-letter queue (test setup errors).
func (s *Server) CreateQueue(name string, o QueueOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.queues[name]; dup {
		panic("fakesqs: queue created twice: " + name)
	}
	q := &queue{name: name, vt: o.VisibilityTimeout, maxReceive: o.MaxReceiveCount}
	if q.vt <= 0 {
		q.vt = 30 * time.Second
	}
	if o.DeadLetter != "" {
		q.dlq = s.queues[o.DeadLetter]
		if q.dlq == nil {
			panic("fakesqs: unknown dead-letter queue " + o.DeadLetter)
		}
	}
	s.queues[name] = q
	return s.QueueURL(name)
}

// QueueURL is the URL of the named queue.
func (s *Server) QueueURL(name string) string { return s.URL + "/000000000000/" + name }

// Send enqueues a message and returns its ID.
func (s *Server) Send(queueURL, body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queueOf(queueURL)
	if q == nil {
		panic("fakesqs: no queue " + queueURL)
	}
	return s.send(q, body)
}

func (s *Server) send(q *queue, body string) string {
	m := &message{id: newID(), body: body, sent: s.now()}
	m.visibleAt = m.sent
	q.msgs = append(q.msgs, m)
	s.notify()
	return m.id
}

// Messages returns the queue's messages (not deleted), in send order.
func (s *Server) Messages(queueURL string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queueOf(queueURL)
	if q == nil {
		return nil
	}
	now := s.now()
	out := make([]Message, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, Message{ID: m.id, Body: m.body, ReceiveCount: m.receiveCount, Visible: !now.Before(m.visibleAt), VisibilityChanges: m.visibilityChanges})
	}
	return out
}

// Deleted returns the IDs of the queue's deleted messages, in deletion order.
func (s *Server) Deleted(queueURL string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queueOf(queueURL); q != nil {
		return append([]string(nil), q.deleted...)
	}
	return nil
}

// Receives returns how many times the queue delivered a message
// (redeliveries included, messages deleted since included).
func (s *Server) Receives(queueURL string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queueOf(queueURL); q != nil {
		return q.receives
	}
	return 0
}

// Calls returns how many requests an action received (faulty ones included).
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Fail makes the next n calls of action answer 500 InternalError.
func (s *Server) Fail(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = n
}

// queueOf resolves a queue URL (any host: only the last path segment
// counts, like a queue name); s.mu must be held.
func (s *Server) queueOf(u string) *queue {
	u = strings.TrimRight(u, "/")
	return s.queues[u[strings.LastIndex(u, "/")+1:]]
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// apiError is an error answer of the JSON protocol.
type apiError struct {
	status int
	code   string // e.g. "ReceiptHandleIsInvalid"
	msg    string
}

// Error implements error.
func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, a...)}
}

// ServeHTTP implements the protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, badRequest("InvalidAction", "want POST with X-Amz-Target AmazonSQS.<Action>, got %s %q", r.Method, target))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-amz-json-1.0") {
		writeError(w, badRequest("InvalidParameterValue", "Content-Type %q is not application/x-amz-json-1.0", ct))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, badRequest("InvalidParameterValue", "reading body: %v", err))
		return
	}
	s.mu.Lock()
	s.calls[action]++
	if s.faults[action] > 0 {
		s.faults[action]--
		s.mu.Unlock()
		writeError(w, &apiError{status: http.StatusInternalServerError, code: "InternalError", msg: "injected fault"})
		return
	}
	s.mu.Unlock()

	var out any
	switch action {
	case "ReceiveMessage":
		out, err = s.receive(r, body)
	case "DeleteMessage":
		out, err = s.deleteMessage(body)
	case "DeleteMessageBatch":
		out, err = s.deleteBatch(body)
	case "ChangeMessageVisibility":
		out, err = s.changeVisibility(body)
	case "ChangeMessageVisibilityBatch":
		out, err = s.changeVisibilityBatch(body)
	case "SendMessage":
		out, err = s.sendMessage(body)
	case "GetQueueAttributes":
		out, err = s.attributes(body)
	default:
		err = badRequest("InvalidAction", "action %s is not supported by fakesqs", action)
	}
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = badRequest("InvalidParameterValue", "%v", err)
		}
		writeError(w, ae)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", newID())
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", newID())
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

// decode parses a request body and resolves its QueueUrl.
func (s *Server) decode(body []byte, v any, queueURL *string) (*queue, error) {
	if err := json.Unmarshal(body, v); err != nil {
		return nil, badRequest("InvalidParameterValue", "request body: %v", err)
	}
	s.mu.Lock()
	q := s.queueOf(*queueURL)
	s.mu.Unlock()
	if q == nil {
		return nil, badRequest("QueueDoesNotExist", "the queue %q does not exist", *queueURL)
	}
	return q, nil
}

type receiveInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	AttributeNames              []string
	MessageSystemAttributeNames []string
}

type outMessage struct {
	MessageId     string
	ReceiptHandle string
	MD5OfBody     string
	Body          string
	Attributes    map[string]string `json:",omitempty"`
}

func (s *Server) receive(r *http.Request, body []byte) (any, error) {
	var in receiveInput
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max := 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
	}
	if max < 1 || max > 10 {
		return nil, badRequest("InvalidParameterValue", "MaxNumberOfMessages %d is not between 1 and 10", max)
	}
	var wait time.Duration
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > 20 {
			return nil, badRequest("InvalidParameterValue", "WaitTimeSeconds %d is not between 0 and 20", *in.WaitTimeSeconds)
		}
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	vt := -1 * time.Second
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200 {
			return nil, badRequest("InvalidParameterValue", "VisibilityTimeout %d is not between 0 and 43200", *in.VisibilityTimeout)
		}
		vt = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	attrs := map[string]bool{}
	for _, a := range append(in.AttributeNames, in.MessageSystemAttributeNames...) {
		attrs[a] = true
	}
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		msgs, wake := s.take(q, max, vt, attrs)
		changed := s.changed
		s.mu.Unlock()
		if len(msgs) > 0 {
			return map[string]any{"Messages": msgs}, nil
		}
		if !time.Now().Before(deadline) {
			return map[string]any{}, nil
		}
		timer := time.NewTimer(min(time.Until(deadline), wake))
		select {
		case <-changed:
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return nil, badRequest("RequestCanceled", "client went away")
		}
		timer.Stop()
	}
}

// take receives up to max visible messages; it also returns how long until
// the next invisible message becomes visible. s.mu must be held.
func (s *Server) take(q *queue, max int, vt time.Duration, attrs map[string]bool) ([]outMessage, time.Duration) {
	now := s.now()
	if vt < 0 {
		vt = q.vt
	}
	wake := time.Hour
	var out []outMessage
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if now.Before(m.visibleAt) || len(out) == max {
			if now.Before(m.visibleAt) {
				wake = min(wake, m.visibleAt.Sub(now))
			}
			kept = append(kept, m)
			continue
		}
		if q.dlq != nil && q.maxReceive > 0 && m.receiveCount >= q.maxReceive {
			// Redrive: the message moves to the dead-letter queue with
			// its ID and body, as a fresh message there.
			m.receipt, m.visibleAt = "", now
			q.dlq.msgs = append(q.dlq.msgs, m)
			s.notify()
			continue
		}
		m.receiveCount++
		q.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.receipt = q.name + "." + m.id + "." + newID()
		m.visibleAt = now.Add(vt)
		om := outMessage{MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: md5hex(m.body), Body: m.body, Attributes: map[string]string{}}
		all := attrs["All"]
		if all || attrs["ApproximateReceiveCount"] {
			om.Attributes["ApproximateReceiveCount"] = strconv.Itoa(m.receiveCount)
		}
		if all || attrs["SentTimestamp"] {
			om.Attributes["SentTimestamp"] = strconv.FormatInt(m.sent.UnixMilli(), 10)
		}
		if all || attrs["ApproximateFirstReceiveTimestamp"] {
			om.Attributes["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.firstReceive.UnixMilli(), 10)
		}
		out = append(out, om)
		kept = append(kept, m)
	}
	q.msgs = kept
	return out, wake
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// find resolves a receipt handle: the message, and whether the handle is
// its current one. s.mu must be held.
func (s *Server) find(q *queue, receipt string) (*message, bool, error) {
	parts := strings.Split(receipt, ".")
	if len(parts) != 3 || parts[0] != q.name {
		return nil, false, badRequest("ReceiptHandleIsInvalid", "the receipt handle %q is not valid for queue %s", receipt, q.name)
	}
	for _, m := range q.msgs {
		if m.id == parts[1] {
			return m, m.receipt == receipt, nil
		}
	}
	return nil, false, nil // deleted (or moved to the dead-letter queue)
}

// del deletes by receipt handle. A stale handle succeeds without deleting.
// s.mu must be held.
func (s *Server) del(q *queue, receipt string) error {
	m, current, err := s.find(q, receipt)
	if err != nil || m == nil || !current {
		return err
	}
	for i, x := range q.msgs {
		if x == m {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			break
		}
	}
	q.deleted = append(q.deleted, m.id)
	s.notify()
	return nil
}

func (s *Server) deleteMessage(body []byte) (any, error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.del(q, in.ReceiptHandle); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

type batchEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout *int
}

type batchFailure struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

func checkBatch(entries []batchEntry) error {
	if len(entries) == 0 {
		return badRequest("EmptyBatchRequest", "the batch request does not contain any entries")
	}
	if len(entries) > 10 {
		return badRequest("TooManyEntriesInBatchRequest", "the batch request contains %d entries, more than 10", len(entries))
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Id == "" || len(e.Id) > 80 || strings.Trim(e.Id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return badRequest("InvalidBatchEntryId", "batch entry id %q is not valid", e.Id)
		}
		if seen[e.Id] {
			return badRequest("BatchEntryIdsNotDistinct", "batch entry id %q is repeated", e.Id)
		}
		seen[e.Id] = true
	}
	return nil
}

func (s *Server) deleteBatch(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []batchEntry
	}
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := checkBatch(in.Entries); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := []map[string]string{}
	failed := []batchFailure{}
	for _, e := range in.Entries {
		if err := s.del(q, e.ReceiptHandle); err != nil {
			ae := err.(*apiError)
			failed = append(failed, batchFailure{Id: e.Id, Code: ae.code, Message: ae.msg, SenderFault: true})
			continue
		}
		ok = append(ok, map[string]string{"Id": e.Id})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

// change sets a received message's visibility timeout. s.mu must be held.
func (s *Server) change(q *queue, receipt string, seconds *int) error {
	if seconds == nil || *seconds < 0 || *seconds > 43200 {
		return badRequest("InvalidParameterValue", "VisibilityTimeout must be between 0 and 43200")
	}
	m, current, err := s.find(q, receipt)
	if err != nil {
		return err
	}
	now := s.now()
	if m == nil || !current || !now.Before(m.visibleAt) {
		return badRequest("MessageNotInflight", "the message referred to by receipt handle %q is not in flight", receipt)
	}
	m.visibleAt = now.Add(time.Duration(*seconds) * time.Second)
	m.visibilityChanges++
	s.notify()
	return nil
}

func (s *Server) changeVisibility(body []byte) (any, error) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       *int
	}
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(q, in.ReceiptHandle, in.VisibilityTimeout); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Server) changeVisibilityBatch(body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []batchEntry
	}
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := checkBatch(in.Entries); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := []map[string]string{}
	failed := []batchFailure{}
	for _, e := range in.Entries {
		if err := s.change(q, e.ReceiptHandle, e.VisibilityTimeout); err != nil {
			ae := err.(*apiError)
			failed = append(failed, batchFailure{Id: e.Id, Code: ae.code, Message: ae.msg, SenderFault: true})
			continue
		}
		ok = append(ok, map[string]string{"Id": e.Id})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (s *Server) sendMessage(body []byte) (any, error) {
	var in struct{ QueueUrl, MessageBody string }
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.MessageBody == "" {
		return nil, badRequest("MissingParameter", "MessageBody is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.send(q, in.MessageBody)
	return map[string]string{"MessageId": id, "MD5OfMessageBody": md5hex(in.MessageBody)}, nil
}

func (s *Server) attributes(body []byte) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	q, err := s.decode(body, &in, &in.QueueUrl)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var visible, inflight int
	for _, m := range q.msgs {
		if now.Before(m.visibleAt) {
			inflight++
		} else {
			visible++
		}
	}
	attrs := map[string]string{
		"VisibilityTimeout":                     strconv.Itoa(int(q.vt / time.Second)),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
	}
	if q.dlq != nil {
		rp, _ := json.Marshal(map[string]any{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:" + q.dlq.name, "maxReceiveCount": q.maxReceive})
		attrs["RedrivePolicy"] = string(rp)
	}
	return map[string]any{"Attributes": attrs}, nil
}
