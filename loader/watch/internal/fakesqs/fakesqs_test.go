package fakesqs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// client is a real SDK client pointed at the fake.
func client(t *testing.T, s *Server) *sqs.Client {
	t.Helper()
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
	})
}

func newServer(t *testing.T) *Server {
	s := New()
	t.Cleanup(s.Close)
	return s
}

func receive(t *testing.T, c *sqs.Client, q string, max, wait, vt int32) []types.Message {
	t.Helper()
	in := &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q), MaxNumberOfMessages: max, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	}
	if vt >= 0 {
		in.VisibilityTimeout = vt
	}
	out, err := c.ReceiveMessage(context.Background(), in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func TestReceiveVisibilityDelete(t *testing.T) {
	s := newServer(t)
	c := client(t, s)
	q := s.CreateQueue("q", QueueOptions{VisibilityTimeout: 30 * time.Second})
	id1 := s.Send(q, `{"n":1}`)
	id2 := s.Send(q, `{"n":2}`)

	got := receive(t, c, q, 10, 0, -1)
	if len(got) != 2 || aws.ToString(got[0].MessageId) != id1 || aws.ToString(got[1].MessageId) != id2 {
		t.Fatalf("received %d messages, want %s, %s in order", len(got), id1, id2)
	}
	if rc := got[0].Attributes["ApproximateReceiveCount"]; rc != "1" {
		t.Errorf("ApproximateReceiveCount = %q, want 1", rc)
	}
	if again := receive(t, c, q, 10, 0, -1); len(again) != 0 {
		t.Fatalf("in-flight messages delivered again: %d", len(again))
	}

	// Extend the first message; let the default timeout of the second pass.
	if _, err := c.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 120,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	s.Advance(31 * time.Second)
	again := receive(t, c, q, 10, 0, -1)
	if len(again) != 1 || aws.ToString(again[0].MessageId) != id2 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the timeout got %v, want %s with receive count 2", again, id2)
	}

	// The second message's old receipt handle is stale: deleting with it
	// succeeds but does not delete; the current one deletes.
	out, err := c.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{
		QueueUrl: aws.String(q),
		Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("stale"), ReceiptHandle: got[1].ReceiptHandle},
			{Id: aws.String("first"), ReceiptHandle: got[0].ReceiptHandle},
			{Id: aws.String("bad"), ReceiptHandle: aws.String("nonsense")},
		},
	})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || aws.ToString(out.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch = %d ok, failed %+v; want 2 ok and bad failed with ReceiptHandleIsInvalid", len(out.Successful), out.Failed)
	}
	msgs := s.Messages(q)
	if len(msgs) != 1 || msgs[0].ID != id2 {
		t.Fatalf("messages left = %+v, want only %s", msgs, id2)
	}
	if _, err := c.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{
		QueueUrl: aws.String(q), Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String("m0"), ReceiptHandle: again[0].ReceiptHandle}},
	}); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(q); len(msgs) != 0 {
		t.Fatalf("messages left = %+v, want none", msgs)
	}
	if d := s.Deleted(q); len(d) != 2 || d[0] != id1 || d[1] != id2 {
		t.Errorf("deleted = %v, want [%s %s]", d, id1, id2)
	}
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	s := newServer(t)
	c := client(t, s)
	dlq := s.CreateQueue("dlq", QueueOptions{})
	q := s.CreateQueue("q", QueueOptions{VisibilityTimeout: 10 * time.Second, DeadLetter: "dlq", MaxReceiveCount: 3})
	id := s.Send(q, "poison")
	for i := 1; i <= 3; i++ {
		got := receive(t, c, q, 1, 0, -1)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != string(rune('0'+i)) {
			t.Fatalf("receive %d: got %v", i, got)
		}
		s.Advance(11 * time.Second)
	}
	if got := receive(t, c, q, 1, 0, -1); len(got) != 0 {
		t.Fatalf("message delivered a 4th time: %v", got)
	}
	if m := s.Messages(dlq); len(m) != 1 || m[0].ID != id || m[0].Body != "poison" {
		t.Fatalf("dead-letter queue = %+v, want the poison message", m)
	}
	if m := s.Messages(q); len(m) != 0 {
		t.Fatalf("queue still holds %+v", m)
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	s := newServer(t)
	c := client(t, s)
	q := s.CreateQueue("q", QueueOptions{})
	done := make(chan []types.Message)
	go func() {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
		}
		done <- out.Messages
	}()
	// Wait until the poll is parked in the server, then send.
	for deadline := time.Now().Add(5 * time.Second); s.Calls("ReceiveMessage") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("ReceiveMessage never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	id := s.Send(q, "hello")
	select {
	case got := <-done:
		if len(got) != 1 || aws.ToString(got[0].MessageId) != id {
			t.Fatalf("long poll returned %v, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return after a send")
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t)
	c := client(t, s)
	q := s.CreateQueue("q", QueueOptions{})
	_, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL("nope"))})
	var qne *types.QueueDoesNotExist
	if !errors.As(err, &qne) {
		t.Errorf("receive from a missing queue: err = %v, want QueueDoesNotExist", err)
	}
	s.Send(q, "x")
	got := receive(t, c, q, 1, 0, -1)
	s.Advance(time.Minute) // visible again: no longer in flight
	_, err = c.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 10})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MessageNotInflight" {
		t.Errorf("change visibility of a visible message: err = %v, want MessageNotInflight", err)
	}
	s.Fail("ReceiveMessage", 100)
	c2 := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""), RetryMaxAttempts: 2})
	before := s.Calls("ReceiveMessage")
	_, err = c2.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q)})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalError" {
		t.Errorf("injected fault: err = %v, want InternalError", err)
	}
	if n := s.Calls("ReceiveMessage") - before; n != 2 {
		t.Errorf("SDK made %d attempts, want 2 (its retries reach the server)", n)
	}
}
