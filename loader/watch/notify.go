package watch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Notification is one object a queue message names: a new object in a
// bucket.
type Notification struct {
	Bucket string
	Key    string // the object key as stored (decoded)
	// EventTime is when the storage event happened (S3 eventTime,
	// EventBridge time, the Pismo event's timestamp); zero when unknown.
	EventTime time.Time
	Size      int64 // -1 when the message does not say
	// Kind is the message format: s3 (S3 event records), eventbridge or
	// pismo (a dataplatform/new_bucket_object event).
	Kind string
}

// ErrNotNotification is wrapped by ParseMessage's error for a body that is
// not a message eventlake understands (a poison message).
var ErrNotNotification = errors.New("not an object notification")

// maxNesting bounds envelopes inside envelopes (SNS around EventBridge
// around a Pismo event is 3).
const maxNesting = 4

// ParseMessage extracts the objects a queue message body names. It accepts:
//
//   - an SNS envelope ("Type": "Notification") whose Message string holds
//     any of the payloads below (SNS → SQS without raw message delivery);
//   - S3 event notification records ({"Records": [...]}): ObjectCreated:*
//     records name objects; keys are URL-decoded ('+' is a space);
//   - EventBridge S3 events ("detail-type": "Object Created",
//     detail.bucket.name, detail.object.key, not URL-encoded); an
//     EventBridge event of another source whose detail is a Pismo event is
//     read as that event;
//   - Pismo dataplatform/new_bucket_object events (data.bucket_name,
//     data.object_name, data.object_size).
//
// A recognised message that names no new object — s3:TestEvent, other S3
// event types (ObjectRemoved:*), other Pismo events, SNS subscription
// confirmations — yields no notification, a nil error and a reason in
// ignored. Anything else is an error wrapping ErrNotNotification.
func ParseMessage(body []byte) (notes []Notification, ignored string, err error) {
	notes, ignored, err = parse(body, 0, time.Time{})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrNotNotification, err)
	}
	if len(notes) == 0 && ignored == "" {
		ignored = "the message names no object"
	}
	return notes, ignored, nil
}

// fields decodes a JSON object into its raw members. Keys are matched
// exactly: SNS's "Timestamp" and Pismo's "timestamp" are different fields
// (encoding/json would match struct fields case-insensitively).
func fields(b []byte) (map[string]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return m, nil
}

// str reads a string member ("" when absent or null).
func str(m map[string]json.RawMessage, k string) (string, error) {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", k)
	}
	return s, nil
}

// obj reads an object member (nil when absent or null).
func obj(m map[string]json.RawMessage, k string) (map[string]json.RawMessage, error) {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	o, err := fields(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", k, err)
	}
	return o, nil
}

// size reads a number member (-1 when absent or not a whole number).
func size(m map[string]json.RawMessage, k string) int64 {
	var n json.Number
	if raw, ok := m[k]; ok && json.Unmarshal(raw, &n) == nil {
		if v, err := n.Int64(); err == nil && v >= 0 {
			return v
		}
	}
	return -1
}

// when parses an event time; unparseable times are unknown, not errors.
func when(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func parse(body []byte, depth int, outer time.Time) ([]Notification, string, error) {
	if depth >= maxNesting {
		return nil, "", errors.New("envelopes nested too deep")
	}
	m, err := fields(body)
	if err != nil {
		return nil, "", err
	}
	switch {
	case m["Type"] != nil:
		return parseSNS(m, depth)
	case m["Records"] != nil:
		return parseRecords(m)
	case m["Event"] != nil:
		ev, _ := str(m, "Event")
		if ev == "s3:TestEvent" {
			return nil, "s3:TestEvent", nil
		}
		return nil, "", fmt.Errorf("unknown S3 message Event %q", ev)
	case m["detail-type"] != nil:
		return parseEventBridge(m, depth)
	case m["event_type"] != nil || m["domain"] != nil:
		return parsePismo(m, outer)
	}
	return nil, "", errors.New("unrecognised message: not an SNS envelope, S3 event records, an EventBridge event or a Pismo event")
}

func parseSNS(m map[string]json.RawMessage, depth int) ([]Notification, string, error) {
	typ, err := str(m, "Type")
	if err != nil {
		return nil, "", fmt.Errorf("SNS envelope: %v", err)
	}
	switch typ {
	case "Notification":
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return nil, "SNS " + typ + " (confirm the subscription in SNS; eventlake does not)", nil
	default:
		return nil, "", fmt.Errorf("SNS envelope of unknown Type %q", typ)
	}
	msg, err := str(m, "Message")
	if err != nil || msg == "" {
		return nil, "", errors.New("SNS notification without a Message string")
	}
	ts, _ := str(m, "Timestamp")
	notes, ignored, err := parse([]byte(msg), depth+1, when(ts))
	if err != nil {
		return nil, "", fmt.Errorf("SNS Message: %v", err)
	}
	return notes, ignored, nil
}

func parseRecords(m map[string]json.RawMessage) ([]Notification, string, error) {
	var recs []json.RawMessage
	if err := json.Unmarshal(m["Records"], &recs); err != nil {
		return nil, "", errors.New("Records is not an array")
	}
	var notes []Notification
	var skipped []string
	for i, raw := range recs {
		r, err := fields(raw)
		if err != nil {
			return nil, "", fmt.Errorf("Records[%d]: %v", i, err)
		}
		src, _ := str(r, "eventSource")
		name, _ := str(r, "eventName")
		if src != "aws:s3" {
			return nil, "", fmt.Errorf("Records[%d]: eventSource %q is not aws:s3", i, src)
		}
		if !strings.HasPrefix(name, "ObjectCreated:") {
			skipped = append(skipped, name)
			continue
		}
		s3, err := obj(r, "s3")
		if err != nil || s3 == nil {
			return nil, "", fmt.Errorf("Records[%d]: no s3 object", i)
		}
		b, err := obj(s3, "bucket")
		if err != nil || b == nil {
			return nil, "", fmt.Errorf("Records[%d]: no s3.bucket", i)
		}
		o, err := obj(s3, "object")
		if err != nil || o == nil {
			return nil, "", fmt.Errorf("Records[%d]: no s3.object", i)
		}
		bucket, _ := str(b, "name")
		rawKey, _ := str(o, "key")
		// S3 event keys are URL-encoded the way HTML forms are: '+' is a
		// space, and a real '+' arrives as %2B.
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, "", fmt.Errorf("Records[%d]: key %q is not URL-encoded properly: %v", i, rawKey, err)
		}
		if strings.HasSuffix(key, "/") {
			skipped = append(skipped, "folder marker "+key)
			continue
		}
		et, _ := str(r, "eventTime")
		n := Notification{Bucket: bucket, Key: key, EventTime: when(et), Size: size(o, "size"), Kind: "s3"}
		if err := n.check(); err != nil {
			return nil, "", fmt.Errorf("Records[%d]: %v", i, err)
		}
		notes = append(notes, n)
	}
	if len(notes) == 0 {
		if len(skipped) == 0 {
			return nil, "S3 event without records", nil
		}
		return nil, "S3 event " + strings.Join(skipped, ", "), nil
	}
	return notes, "", nil
}

func parseEventBridge(m map[string]json.RawMessage, depth int) ([]Notification, string, error) {
	dt, _ := str(m, "detail-type")
	src, _ := str(m, "source")
	ts, _ := str(m, "time")
	detail, err := obj(m, "detail")
	if err != nil || detail == nil {
		return nil, "", errors.New("EventBridge event without a detail object")
	}
	if src != "aws.s3" {
		// Not S3: a vendor event bus (Pismo delivers through EventBridge
		// too). Read the detail as the vendor's event.
		raw, _ := json.Marshal(detail)
		notes, ignored, err := parse(raw, depth+1, when(ts))
		if err != nil {
			return nil, "", fmt.Errorf("EventBridge event from %q (%s): %v", src, dt, err)
		}
		return notes, ignored, nil
	}
	if dt != "Object Created" {
		return nil, "EventBridge S3 " + dt, nil
	}
	b, err := obj(detail, "bucket")
	if err != nil || b == nil {
		return nil, "", errors.New("EventBridge Object Created without detail.bucket")
	}
	o, err := obj(detail, "object")
	if err != nil || o == nil {
		return nil, "", errors.New("EventBridge Object Created without detail.object")
	}
	bucket, _ := str(b, "name")
	key, _ := str(o, "key")
	if strings.HasSuffix(key, "/") {
		return nil, "folder marker " + key, nil
	}
	n := Notification{Bucket: bucket, Key: key, EventTime: when(ts), Size: size(o, "size"), Kind: "eventbridge"}
	if err := n.check(); err != nil {
		return nil, "", fmt.Errorf("EventBridge Object Created: %v", err)
	}
	return []Notification{n}, "", nil
}

// versionSuffix is the "-1" of "new_bucket_object-1".
var versionSuffix = regexp.MustCompile(`-\d+$`)

func parsePismo(m map[string]json.RawMessage, outer time.Time) ([]Notification, string, error) {
	domain, err1 := str(m, "domain")
	typ, err2 := str(m, "event_type")
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", fmt.Errorf("Pismo event: %v", err)
	}
	norm := strings.ReplaceAll(versionSuffix.ReplaceAllString(typ, ""), "-", "_")
	if domain != "dataplatform" || norm != "new_bucket_object" {
		return nil, "Pismo event " + domain + "/" + typ, nil
	}
	data, err := obj(m, "data")
	if err != nil || data == nil {
		return nil, "", errors.New("Pismo new_bucket_object without a data object")
	}
	bucket, _ := str(data, "bucket_name")
	bucket = strings.TrimPrefix(bucket, "arn:aws:s3:::")
	key, _ := str(data, "object_name")
	key = strings.TrimPrefix(key, "/")
	ts, _ := str(m, "timestamp")
	t := when(ts)
	if t.IsZero() {
		t = outer
	}
	n := Notification{Bucket: bucket, Key: key, EventTime: t, Size: size(data, "object_size"), Kind: "pismo"}
	if err := n.check(); err != nil {
		return nil, "", fmt.Errorf("Pismo new_bucket_object: %v", err)
	}
	return []Notification{n}, "", nil
}

func (n Notification) check() error {
	switch {
	case n.Bucket == "":
		return errors.New("empty bucket name")
	case n.Key == "":
		return errors.New("empty object key")
	}
	return nil
}
