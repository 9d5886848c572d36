package corpus

import (
	"encoding/json"
	"strconv"
	"time"
)

// Layouts: the vendor export shapes Generate writes.
const (
	// LayoutPismo: Pismo event files, main_stream/YYYY/MM/DD/HH/<name>, one
	// envelope per line, no extension (raw or gzipped).
	LayoutPismo = "pismo"
	// LayoutSubscriber: an additional subscriber's Pismo files,
	// subscriber/YYYY-MM-DD/additional-subscriber-<time>-batch-<n>: the same
	// envelopes pretty-printed (every value on its own line) and concatenated.
	LayoutSubscriber = "pismo-subscriber"
	// LayoutFulfillmenttools: the fulfillmenttools public event export,
	// YYYY-MM-DD/events-YYYY-MM-DD-<n>.json.gz (Gzip decides the bytes; the
	// name always ends in .json.gz), one {"id", "eventName", "payload",
	// "created"} per line; the domain is eventName up to its first '-'.
	LayoutFulfillmenttools = "fulfillmenttools"
	// LayoutJWO: Amazon Just Walk Out intra-day order reports,
	// Order/YYYY-MM-DD/HH/ALL<MM>.csv000, CSV with a header; the partition is
	// the report date of the key ("report_date=YYYY-MM-DD"), so Days and
	// Domains only shape the order fields.
	LayoutJWO = "jwo-orders"
)

// Layouts lists the known layouts.
var Layouts = []string{LayoutPismo, LayoutSubscriber, LayoutFulfillmenttools, LayoutJWO}

func knownLayout(l string) bool {
	if l == "" {
		return true
	}
	for _, k := range Layouts {
		if k == l {
			return true
		}
	}
	return false
}

// ftDomains are fulfillmenttools entities (the domain of an eventName);
// more domains get a numeric suffix without a separator ("order2").
var ftDomains = []string{
	"order", "pickjob", "packjob", "shipment", "handover", "stock", "facility",
	"routingplan", "returnjob", "servicejob", "parcel", "listing",
}

func ftDomainName(i int) string {
	n := ftDomains[i%len(ftDomains)]
	if i >= len(ftDomains) {
		n += strconv.Itoa(i/len(ftDomains) + 1)
	}
	return n
}

// ftLine builds a fulfillmenttools export line of type et at t into g.line:
// created with microseconds and "+00:00", as the export writes it.
func (g *generator) ftLine(et *eventType, t time.Time) {
	b := append(g.line[:0], `{"id":"`...)
	b = appendUUID(b, g.r)
	b = append(b, `","eventName":"`...)
	b = append(b, et.name...)
	b = append(b, `","payload":`...)
	g.pw.buf, g.pw.now = b, t
	g.pw.payload(et)
	b = append(g.pw.buf, `,"created":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000+00:00")
	g.line = append(b, '"', '}', '\n')
}

// prettyLine re-writes the envelope in g.line the way additional
// subscribers receive it: every key and array element on its own line.
func (g *generator) prettyLine() {
	g.pretty.Reset()
	if err := json.Indent(&g.pretty, g.line[:len(g.line)-1], "", ""); err != nil {
		panic("corpus: generated invalid JSON: " + err.Error()) // a bug in the generator
	}
	g.pretty.WriteByte('\n')
	g.line = append(g.line[:0], g.pretty.Bytes()...)
}

// orderHeader is the header of every JWO order report.
var orderHeader = []byte("order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at," +
	"customer_id,payment_method,card_last4,tax_amount,discount_amount,shopper_session_id,entry_gate,exit_gate\n")

var (
	orderStatuses = []string{"COMPLETED", "COMPLETED", "COMPLETED", "PENDING", "REFUNDED", "DISPUTED"}
	payMethods    = []string{"CREDIT_CARD", "CREDIT_CARD", "DEBIT_CARD", "AMAZON_ONE", "MOBILE_WALLET"}
	currencies3   = []string{"USD", "USD", "USD", "GBP", "CAD"}
)

// orderLine builds one JWO order row into g.line; obj's report time is the
// upper bound of the order's update time.
func (g *generator) orderLine(obj int) string {
	r := g.r
	rep := g.objectTime(obj)
	upd := rep.Add(-time.Duration(r.Int64N(int64(time.Hour)))).Truncate(time.Second)
	// Most orders are of the report's day; some are late, from the Days
	// before it.
	od := upd
	if r.IntN(20) == 0 {
		od = od.AddDate(0, 0, -r.IntN(g.spec.Days))
	}
	g.orderSeq++
	b := strconv.AppendInt(g.line[:0], 100000000+g.orderSeq*7+int64(r.IntN(7)), 10)
	b = append(b, ",STORE-"...)
	b = strconv.AppendInt(b, int64(1+g.pickCum(g.orgCum)*g.spec.Domains+r.IntN(g.spec.Domains)), 10)
	b = append(b, ',')
	status := orderStatuses[r.IntN(len(orderStatuses))]
	b = append(b, status...)
	b = append(b, ',')
	cents := 99 + int64(r.ExpFloat64()*2500)
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	b = append(b, ',')
	b = append(b, currencies3[r.IntN(len(currencies3))]...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(1+r.IntN(12)), 10)
	if status == "REFUNDED" {
		b = append(b, ",true,"...)
	} else {
		b = append(b, ",false,"...)
	}
	b = od.UTC().AppendFormat(b, "2006-01-02")
	b = append(b, ',')
	b = upd.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, ",C"...)
	b = strconv.AppendInt(b, 1000000+r.Int64N(9000000), 10)
	b = append(b, ',')
	b = append(b, payMethods[r.IntN(len(payMethods))]...)
	b = append(b, ',')
	b = append2(append2(b, r.IntN(100)), r.IntN(100))
	b = append(b, ',')
	tax := cents * 8 / 100
	b = strconv.AppendInt(b, tax/100, 10)
	b = append(b, '.', byte('0'+tax%100/10), byte('0'+tax%10))
	b = append(b, ',')
	if r.IntN(4) == 0 {
		d := cents / 10
		b = strconv.AppendInt(b, d/100, 10)
		b = append(b, '.', byte('0'+d%100/10), byte('0'+d%10))
	}
	b = append(b, ',')
	b = appendUUID(b, r)
	b = append(b, ",G"...)
	b = strconv.AppendInt(b, int64(1+r.IntN(4)), 10)
	b = append(b, ",G"...)
	b = strconv.AppendInt(b, int64(1+r.IntN(4)), 10)
	g.line = append(b, '\n')
	return g.orderPart
}
