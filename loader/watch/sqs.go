package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/s3"
)

// SQSAPI is the part of the SQS client the watcher uses (*sqs.Client
// implements it).
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQSOptions configure NewSQSClient.
type SQSOptions struct {
	// Region of the queue. Default: taken from an AWS queue URL
	// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), else the AWS
	// configuration (AWS_REGION, profile).
	Region string
	// Endpoint overrides the SQS endpoint (LocalStack, tests, VPC
	// endpoints). Default: the AWS endpoint of the region; for a queue URL
	// whose host is not an AWS one, that URL's scheme and host.
	Endpoint string
	// Profile is a profile of the shared AWS configuration files.
	Profile string
}

// NewSQSClient creates an SQS client for queueURL. Credentials come from
// the AWS SDK default chain (environment, shared files and profiles, SSO,
// web identity, ECS and EC2 roles). It needs sqs:ReceiveMessage,
// sqs:DeleteMessage and sqs:ChangeMessageVisibility on the queue.
func NewSQSClient(ctx context.Context, queueURL string, o SQSOptions) (*sqs.Client, error) {
	u, err := url.Parse(queueURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("SQS queue %q: want a queue URL like https://sqs.us-east-1.amazonaws.com/123456789012/NAME", queueURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("SQS queue %s: credentials in the URL are not supported: use the AWS credential chain", u.Redacted())
	}
	region := o.Region
	onAWS := isAWSHost(u.Hostname())
	if region == "" && onAWS {
		region = regionOf(u.Hostname())
	}
	endpoint := o.Endpoint
	if endpoint == "" && !onAWS {
		endpoint = u.Scheme + "://" + u.Host
	}
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil {
			return nil, fmt.Errorf("SQS endpoint %q is not an http(s) URL without credentials", endpoint)
		}
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	opts = append(opts, config.WithLogger(s3.SDKLogger(source.Logger(ctx))))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("SQS queue %s: loading AWS configuration: %w", queueURL, err)
	}
	if cfg.Region == "" {
		if endpoint == "" {
			return nil, fmt.Errorf("SQS queue %s: cannot tell its region: give --sqs-region", queueURL)
		}
		cfg.Region = "us-east-1" // a local endpoint: any region signs
	}
	return sqs.NewFromConfig(cfg, func(so *sqs.Options) {
		if endpoint != "" {
			so.BaseEndpoint = &endpoint
		}
	}), nil
}

func isAWSHost(h string) bool {
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn")
}

// regionOf reads the region from sqs.REGION.amazonaws.com or the legacy
// REGION.queue.amazonaws.com.
func regionOf(host string) string {
	parts := strings.Split(host, ".")
	switch {
	case len(parts) >= 4 && parts[0] == "sqs":
		return parts[1]
	case len(parts) >= 4 && parts[1] == "queue":
		return parts[0]
	}
	return ""
}

// inMessage is one received message.
type inMessage struct {
	id, body     string
	receivedAt   time.Time
	receiveCount int
}

// receive long-polls the queue and hands new messages to out until ctx
// ends. A message already in hand (a redelivery, or SQS's at-least-once
// duplicate) only refreshes its receipt handle.
func (w *watcher) receive(ctx context.Context, out chan<- *inMessage) {
	bo := w.newBackoff()
	for ctx.Err() == nil {
		res, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(w.o.Queue),
			MaxNumberOfMessages: 10,
			WaitTimeSeconds:     int32(w.o.WaitTime / time.Second),
			VisibilityTimeout:   int32(w.o.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{
				types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp,
			},
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := bo.next()
			w.fail("receive", fmt.Errorf("receiving from %s (retrying in %s): %w", w.o.Queue, d.Round(time.Millisecond), err))
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		bo.reset()
		now := w.now()
		for _, m := range res.Messages {
			id, receipt := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
			if id == "" || receipt == "" {
				w.fail("receive", errors.New("received a message without MessageId or ReceiptHandle; ignoring it"))
				continue
			}
			rc, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
			if !w.keeper.add(id, receipt, now) {
				w.m.message("redelivered")
				w.log.Debug("message already in hand received again", "message_id", id, "receive_count", rc)
				continue
			}
			select {
			case out <- &inMessage{id: id, body: aws.ToString(m.Body), receivedAt: now, receiveCount: rc}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// keeper holds the messages in hand and keeps them invisible to other
// consumers: it extends a message's visibility timeout with
// ChangeMessageVisibility once half of it has passed, for as long as the
// message is held (waiting in a batch, or in a running load).
type keeper struct {
	w    *watcher
	vt   time.Duration
	mu   sync.Mutex
	held map[string]*heldMessage // by MessageId
}

type heldMessage struct {
	receipt    string
	extendedAt time.Time // receipt or last extension
}

func newKeeper(w *watcher) *keeper {
	return &keeper{w: w, vt: w.o.VisibilityTimeout, held: map[string]*heldMessage{}}
}

// add starts holding a message. It returns false (and takes the newer
// receipt handle, the only one that can delete it) when it is held already.
func (k *keeper) add(id, receipt string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h, ok := k.held[id]; ok {
		h.receipt, h.extendedAt = receipt, now
		return false
	}
	k.held[id] = &heldMessage{receipt: receipt, extendedAt: now}
	return true
}

// receipt is the newest receipt handle of a held message.
func (k *keeper) receipt(id string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h, ok := k.held[id]
	if !ok {
		return "", false
	}
	return h.receipt, true
}

// drop stops holding messages (deleted, or left to come back).
func (k *keeper) drop(ids ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		delete(k.held, id)
	}
}

func (k *keeper) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.held)
}

// run extends visibility timeouts until ctx ends. It checks four times per
// timeout, so an extension happens between 1/2 and 3/4 of it.
func (k *keeper) run(ctx context.Context) {
	t := time.NewTicker(k.vt / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.extendDue(ctx)
		}
	}
}

// extendDue extends every held message whose timeout is half gone.
func (k *keeper) extendDue(ctx context.Context) {
	now := k.w.now()
	type due struct{ id, receipt string }
	var list []due
	k.mu.Lock()
	for id, h := range k.held {
		if now.Sub(h.extendedAt) >= k.vt/2 {
			list = append(list, due{id, h.receipt})
		}
	}
	k.mu.Unlock()
	for _, d := range list {
		_, err := k.w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(k.w.o.Queue), ReceiptHandle: aws.String(d.receipt), VisibilityTimeout: int32(k.vt / time.Second),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The message may be visible again already (the extension
			// came too late); its delete will then not take effect and a
			// redelivery finds the object known. Nothing is lost.
			k.w.fail("visibility", fmt.Errorf("extending the visibility of message %s: %w", d.id, err))
			continue
		}
		k.mu.Lock()
		if h, ok := k.held[d.id]; ok && h.receipt == d.receipt {
			h.extendedAt = now
		}
		k.mu.Unlock()
		k.w.log.Debug("visibility extended", "message_id", d.id, "seconds", int(k.vt/time.Second))
	}
}

// releaseAll hands every held message back to the queue at once
// (visibility 0) at shutdown, so another consumer or the next start gets
// it without waiting for its timeout. Best effort, bounded in time.
func (k *keeper) releaseAll() {
	k.mu.Lock()
	held := k.held
	k.held = map[string]*heldMessage{}
	k.mu.Unlock()
	if len(held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for id, h := range held {
		if _, err := k.w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(k.w.o.Queue), ReceiptHandle: aws.String(h.receipt), VisibilityTimeout: 0,
		}); err != nil {
			k.w.log.Debug("could not release message; it comes back after its visibility timeout", "message_id", id, "error", err)
		}
	}
	k.w.log.Info("released messages in hand to the queue", "messages", len(held))
}

// deleteMessages deletes the messages with their newest receipt handles,
// ten per request, and stops holding them. It runs even during shutdown
// (the objects are committed: deleting spares a pointless redelivery).
func (w *watcher) deleteMessages(ps []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(ps) > 0 {
		chunk := ps[:min(10, len(ps))]
		ps = ps[len(chunk):]
		var entries []types.DeleteMessageBatchRequestEntry
		byEntry := map[string]*pending{}
		for i, p := range chunk {
			receipt, ok := w.keeper.receipt(p.msg.id)
			if !ok {
				continue
			}
			eid := "m" + strconv.Itoa(i)
			byEntry[eid] = p
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(eid), ReceiptHandle: aws.String(receipt)})
		}
		if len(entries) == 0 {
			continue
		}
		out, err := w.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(w.o.Queue), Entries: entries})
		var undeleted []types.DeleteMessageBatchRequestEntry // entries whose delete did not take effect
		if err != nil {
			undeleted = entries
			w.fail("delete", fmt.Errorf("deleting %d messages from %s (they come back and find their objects loaded): %w", len(entries), w.o.Queue, err))
		} else {
			for _, f := range out.Failed {
				for _, e := range entries {
					if aws.ToString(e.Id) == aws.ToString(f.Id) {
						undeleted = append(undeleted, e)
					}
				}
				p := byEntry[aws.ToString(f.Id)]
				id := ""
				if p != nil {
					id = p.msg.id
				}
				w.fail("delete", fmt.Errorf("deleting message %s: %s: %s", id, aws.ToString(f.Code), aws.ToString(f.Message)))
			}
			for _, s := range out.Successful {
				if p := byEntry[aws.ToString(s.Id)]; p != nil {
					outcome := "loaded"
					if len(p.objs) == 0 {
						outcome = "ignored"
					}
					w.m.message(outcome)
					w.log.Debug("message deleted", "message_id", p.msg.id, "outcome", outcome)
				}
			}
		}
		// A copy of an undeleted message received while the delete was in
		// flight was taken for the one in hand and not processed: hand it
		// back to the queue at once (its new receipt), so that it comes
		// back as a new message instead of after its visibility timeout.
		var again []string
		for _, e := range undeleted {
			p := byEntry[aws.ToString(e.Id)]
			if r, ok := w.keeper.receipt(p.msg.id); ok && r != aws.ToString(e.ReceiptHandle) {
				again = append(again, r)
			}
		}
		for _, p := range chunk {
			w.keeper.drop(p.msg.id)
		}
		for _, r := range again {
			if _, err := w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(w.o.Queue), ReceiptHandle: aws.String(r), VisibilityTimeout: 0,
			}); err != nil {
				w.log.Debug("could not hand a redelivered message back; it comes back after its visibility timeout", "error", err)
			}
		}
	}
}

// release stops holding messages that must not be deleted: they come back
// after their visibility timeout, and the queue's redrive policy moves them
// to its dead-letter queue after maxReceiveCount receipts.
func (w *watcher) release(p *pending, outcome, reason string) {
	w.keeper.drop(p.msg.id)
	w.m.message(outcome)
	level := slog.LevelWarn
	msg := "message left for redelivery"
	if outcome == "poison" {
		msg = "poison message left for the queue's redrive policy"
	}
	w.log.Log(context.Background(), level, msg, "message_id", p.msg.id, "receive_count", p.msg.receiveCount, "reason", reason, "body", excerpt(p.msg.body))
}

// excerpt shortens a message body for a log line.
func excerpt(s string) string {
	const n = 300
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
