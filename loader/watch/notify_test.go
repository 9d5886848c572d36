package watch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// s3Records builds an S3 event notification body.
func s3Records(bucket string, keys ...string) string {
	var recs []map[string]any
	for _, k := range keys {
		recs = append(recs, map[string]any{
			"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
			"eventTime": "2024-06-05T22:18:24.822Z", "eventName": "ObjectCreated:CompleteMultipartUpload",
			"s3": map[string]any{
				"s3SchemaVersion": "1.0", "configurationId": "cfg",
				"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
				"object": map[string]any{"key": k, "size": 166, "eTag": "40dabe44630f69d6693151ea9d1aae44-1", "sequencer": "006660E4307DDF229D"},
			},
		})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return string(b)
}

// sns wraps a payload in an SNS notification envelope.
func sns(payload string) string {
	b, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": "34920377-24ac-5f27-8172-5dadc2dd506e", "TopicArn": "arn:aws:sns:us-east-1:1:t",
		"Subject": "Amazon S3 Notification", "Message": payload, "Timestamp": "2024-06-05T22:18:25.734Z",
		"SignatureVersion": "1", "Signature": "x", "SigningCertURL": "x", "UnsubscribeURL": "x",
	})
	return string(b)
}

func eventBridge(bucket, key string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created", "source": "aws.s3",
		"account": "111122223333", "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
		"resources": []string{"arn:aws:s3:::" + bucket},
		"detail": map[string]any{
			"version": "0", "bucket": map[string]any{"name": bucket},
			"object":     map[string]any{"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
			"request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject",
		},
	})
	return string(b)
}

func pismoNotice(bucket, object string) string {
	b, _ := json.Marshal(map[string]any{
		"org_id": "TN-f770039e-aabd-498c-9134-9fde4cac4d51", "cid": "d426f496-9fae-491e-a8b0-257eb6b8db16",
		"event_id": "e03e7919-486e-4552-a7da-ae0b5a2b9a1e", "domain": "dataplatform", "event_type": "new_bucket_object",
		"schema_version": 1, "timestamp": "2020-04-11T19:22:37.946Z",
		"data": map[string]any{"object_size": 538, "object_name": object, "bucket_name": bucket},
	})
	return string(b)
}

func TestParseMessage(t *testing.T) {
	pismoKey := "main_stream/2020/04/11/19/dataplatform-tn-f770039e-1-2020-06-19-19-17-42-45baae47"
	tests := []struct {
		name     string
		body     string
		want     []Notification
		ignored  string // substring of the ignore reason, when no notification
		poisoned string // substring of the error, when poison
	}{
		{
			name: "raw S3 records, '+' is a space and %2B a plus",
			body: s3Records("jwo", "Order/2024-06-05/22/ALL15.csv000", "Order/with+space/a%2Bb%3Dc.csv"),
			want: []Notification{
				{Bucket: "jwo", Key: "Order/2024-06-05/22/ALL15.csv000", EventTime: time.Date(2024, 6, 5, 22, 18, 24, 822e6, time.UTC), Size: 166, Kind: "s3"},
				{Bucket: "jwo", Key: "Order/with space/a+b=c.csv", EventTime: time.Date(2024, 6, 5, 22, 18, 24, 822e6, time.UTC), Size: 166, Kind: "s3"},
			},
		},
		{
			name: "SNS envelope around S3 records (JWO)",
			body: sns(s3Records("jwo", "Order/2024-06-05/22/ALL15.csv000")),
			want: []Notification{{Bucket: "jwo", Key: "Order/2024-06-05/22/ALL15.csv000", EventTime: time.Date(2024, 6, 5, 22, 18, 24, 822e6, time.UTC), Size: 166, Kind: "s3"}},
		},
		{
			name: "EventBridge Object Created, key not URL-encoded",
			body: eventBridge("b", "raw/2023-08-08T14:03:40.532432 a+b.zip"),
			want: []Notification{{Bucket: "b", Key: "raw/2023-08-08T14:03:40.532432 a+b.zip", EventTime: time.Date(2021, 11, 12, 0, 0, 0, 0, time.UTC), Size: 5, Kind: "eventbridge"}},
		},
		{
			name: "Pismo new_bucket_object in SNS",
			body: sns(pismoNotice("pismo-dataplatform-tn-f770039e", pismoKey)),
			want: []Notification{{Bucket: "pismo-dataplatform-tn-f770039e", Key: pismoKey, EventTime: time.Date(2020, 4, 11, 19, 22, 37, 946e6, time.UTC), Size: 538, Kind: "pismo"}},
		},
		{
			name: "Pismo new_bucket_object raw, through EventBridge",
			body: func() string {
				var detail map[string]any
				_ = json.Unmarshal([]byte(pismoNotice("bk", "/"+pismoKey)), &detail)
				b, _ := json.Marshal(map[string]any{"detail-type": "dataplatform", "source": "pismo", "time": "2020-04-11T19:22:38Z", "detail": detail})
				return string(b)
			}(),
			want: []Notification{{Bucket: "bk", Key: pismoKey, EventTime: time.Date(2020, 4, 11, 19, 22, 37, 946e6, time.UTC), Size: 538, Kind: "pismo"}},
		},
		{name: "s3:TestEvent", body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-06-05T22:18:24.822Z","Bucket":"jwo","RequestId":"x","HostId":"y"}`, ignored: "s3:TestEvent"},
		{name: "s3:TestEvent in SNS", body: sns(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"jwo"}`), ignored: "s3:TestEvent"},
		{name: "object removed", body: strings.Replace(s3Records("jwo", "x"), "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete", 1), ignored: "ObjectRemoved:Delete"},
		{name: "folder marker", body: s3Records("jwo", "Order/2024-06-05/"), ignored: "folder marker"},
		{name: "other Pismo event", body: `{"event_id":"1","domain":"account","event_type":"customer-creation-1","timestamp":"2019-07-20T19:03:00.000Z","data":{}}`, ignored: "account/customer-creation-1"},
		{name: "EventBridge object deleted", body: strings.Replace(eventBridge("b", "k"), "Object Created", "Object Deleted", 1), ignored: "Object Deleted"},
		{name: "SNS subscription confirmation", body: `{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe","SubscribeURL":"https://x"}`, ignored: "SubscriptionConfirmation"},
		{name: "not JSON", body: "hello", poisoned: "not a JSON object"},
		{name: "truncated JSON", body: `{"Records":[`, poisoned: "invalid JSON"},
		{name: "unknown JSON", body: `{"hello":"world"}`, poisoned: "unrecognised message"},
		{name: "SNS without Message", body: `{"Type":"Notification"}`, poisoned: "without a Message"},
		{name: "SNS with garbage inside", body: sns("garbage"), poisoned: "SNS Message"},
		{name: "record without key", body: strings.Replace(s3Records("jwo", "k"), `"key":"k"`, `"key":""`, 1), poisoned: "empty object key"},
		{name: "record with bad escape", body: s3Records("jwo", "bad%zzkey"), poisoned: "not URL-encoded properly"},
		{name: "record from another service", body: strings.Replace(s3Records("jwo", "k"), `"aws:s3"`, `"aws:sqs"`, 1), poisoned: "is not aws:s3"},
		{name: "Pismo notice without bucket", body: pismoNotice("", "k"), poisoned: "empty bucket name"},
		{name: "SNS nested too deep", body: sns(sns(sns(sns(s3Records("b", "k"))))), poisoned: "nested too deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ignored, err := ParseMessage([]byte(tc.body))
			if tc.poisoned != "" {
				if err == nil || !errors.Is(err, ErrNotNotification) || !strings.Contains(err.Error(), tc.poisoned) {
					t.Fatalf("err = %v, want ErrNotNotification containing %q", err, tc.poisoned)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.ignored != "" {
				if len(got) != 0 || !strings.Contains(ignored, tc.ignored) {
					t.Fatalf("got %v, ignored %q; want no notification, ignored containing %q", got, ignored, tc.ignored)
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d notifications %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if !got[i].EventTime.Equal(tc.want[i].EventTime) {
					t.Errorf("[%d] event time = %v, want %v", i, got[i].EventTime, tc.want[i].EventTime)
				}
				got[i].EventTime, tc.want[i].EventTime = time.Time{}, time.Time{}
				if got[i] != tc.want[i] {
					t.Errorf("[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// The seed's SNS sample (JWO), with the line breaks of the document's
// layout removed from inside the Message string.
func TestParseJWOSeedSample(t *testing.T) {
	body := `{
"Type" : "Notification",
"MessageId" : "34920377-24ac-5f27-8172-5dadc2dd506e",
"TopicArn" : "<Source SNS Topic Arn>",
"Subject" : "Amazon S3 Notification",
"Message" : "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\",\"eventTime\":\"2024-06-05T22:18:24.822Z\",\"eventName\":\"ObjectCreated:CompleteMultipartUpload\",\"userIdentity\":{\"principalId\":\"AWS:AROA5G7Q7N2GZSXO3I4Q6:RedshiftIamRoleSession\"},\"requestParameters\":{\"sourceIPAddress\":\"54.81.145.214\"},\"responseElements\":{\"x-amz-request-id\":\"F7P4FE2Q4QXCW3JH\",\"x-amz-id-2\":\"aFW9gjd1vmA5sb1UrGJa1F6ATsRO2HLzjya/UjdjtXnTdlP6exi83YMQPZ2kLXF3296kr3sUgNSpeERH1L/CcayWUIOeGMVT\"},\"s3\":{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"<S3ReportNotifsConfigID>\",\"bucket\":{\"name\":\"jwo-reports\",\"ownerIdentity\":{\"principalId\":\"AO07TJS0N6VFV\"},\"arn\":\"arn:aws:s3:::jwo-reports\"},\"object\":{\"key\":\"Order/2024-06-05/22/ALL15.csv000\",\"size\":166,\"eTag\":\"40dabe44630f69d6693151ea9d1aae44-1\",\"versionId\":\"QywepIoqoFXvLzxs1vvAObS306zaU8e7\",\"sequencer\":\"006660E4307DDF229D\"}}}]}",
"Timestamp" : "2024-06-05T22:18:25.734Z",
"SignatureVersion" : "1",
"Signature" : "<SIGNATURE_VALUE>",
"SigningCertURL" : "<SIGNATURE_VALUE>",
"UnsubscribeURL" : "<UNSUSBSCRIBE_URL_VALUE>"
}`
	got, _, err := ParseMessage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Bucket != "jwo-reports" || got[0].Key != "Order/2024-06-05/22/ALL15.csv000" || got[0].Size != 166 {
		t.Fatalf("got %+v", got)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{s3Records("b", "k+1"), sns(pismoNotice("b", "k")), eventBridge("b", "k"), `{"Event":"s3:TestEvent"}`, "x", `{"Type":"Notification","Message":"{}"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		notes, ignored, err := ParseMessage([]byte(body))
		switch {
		case err != nil && (notes != nil || ignored != ""):
			t.Fatalf("error %v with results %v %q", err, notes, ignored)
		case err == nil && len(notes) == 0 && ignored == "":
			t.Fatal("no notification, no ignore reason and no error")
		}
		for _, n := range notes {
			if n.Bucket == "" || n.Key == "" {
				t.Fatalf("notification with an empty bucket or key: %+v", n)
			}
		}
	})
}
