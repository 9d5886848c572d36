package corpus

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// This file builds the "data" payloads. Every event type gets a fixed shape
// (drawn once from the seed), so a type's payloads look alike the way real
// schema-bound events do, while values vary per event. The mix of repeated
// keys, enumerations, words, numbers, timestamps and random identifiers is
// what makes the output compress like real JSON (≈5:1 with gzip); the
// proportions below were tuned by measuring that ratio.

// fieldKind is the shape of one payload field.
type fieldKind uint8

const (
	kInt fieldKind = iota
	kAmount
	kCurrency
	kStatus
	kText
	kUUID
	kTime
	kBool
	kCode
	kAddress
	kMerchant
	kCustomer
	kCard
	kInstallments
	kTags
	kFees
	kMetadata
	kConst // same value in every event of the type (program, country, …)
	numKinds
)

// field is one member of an event type's payload.
type field struct {
	name string
	kind fieldKind
	enum []string // kStatus: the values this field takes
}

// eventType is one (domain, event_type) pair and its payload shape.
type eventType struct {
	name    string // "<verb>-<noun>-<version>"
	version int
	fields  []field
}

var verbs = []string{
	"create", "update", "block", "unblock", "approve", "decline", "cancel", "close",
	"reverse", "settle", "change", "expire", "activate", "renew", "request", "confirm",
}

var nouns = []string{
	"account", "card", "limit", "status", "payment", "transfer", "statement", "installment",
	"address", "document", "contract", "fee", "dispute", "token", "balance", "customer",
	"program", "wallet",
}

// domainNames are Pismo-like application domains; more domains than listed
// get a numeric suffix ("account_2").
var domainNames = []string{
	"account", "authorization", "cards", "transactions", "payments", "statements",
	"customers", "installments", "disputes", "limits", "fees", "corporate", "credit",
	"rewards", "wallets", "loans", "onboarding", "notifications", "platform", "accounting",
}

var fieldNames = [numKinds][]string{
	kInt: {"account_id", "program_id", "customer_id", "card_id", "transaction_id", "authorization_id",
		"installment_count", "statement_id", "division_id", "processing_code", "retry_count",
		"operation_type_id", "portfolio_id"},
	kAmount: {"amount", "principal_amount", "interest_amount", "fee_amount", "available_limit",
		"balance", "total_amount", "credit_limit", "local_amount", "settlement_amount"},
	kCurrency:     {"currency", "settlement_currency", "local_currency"},
	kStatus:       {"status", "previous_status", "reason", "channel", "entry_mode", "network", "origin", "type"},
	kText:         {"description", "soft_descriptor", "note", "display_name", "comment"},
	kUUID:         {"tracking_id", "external_id", "idempotency_key", "correlation_ref", "request_id"},
	kTime:         {"created_at", "updated_at", "due_date", "settlement_date", "effective_at", "processed_at"},
	kBool:         {"is_international", "is_contactless", "recurring", "approved", "is_virtual", "notify"},
	kCode:         {"authorization_code", "response_code", "nsu", "arn"},
	kAddress:      {"address", "billing_address", "shipping_address"},
	kMerchant:     {"merchant"},
	kCustomer:     {"customer", "holder"},
	kCard:         {"card", "source_card"},
	kInstallments: {"installments", "schedule"},
	kTags:         {"tags", "labels", "flags"},
	kFees:         {"fees", "charges"},
	kMetadata:     {"metadata", "context"},
	kConst: {"program_type", "product_code", "country", "api_version", "origin_system",
		"tenant_region", "processor", "business_unit", "schema_family", "ledger_type",
		"settlement_type", "product_family", "environment", "issuer_profile"},
}

var constValues = []string{"CREDIT", "DEBIT", "PREPAID", "MULTIPLE", "BRA", "MEX", "COL",
	"v1", "v2", "v3", "core-banking", "card-issuing", "sa-east-1", "us-east-1", "pismo",
	"retail", "corporate", "private-label", "pix-payments", "ledger"}

var statusValues = [][]string{
	{"ACTIVE", "BLOCKED", "CANCELLED", "PENDING", "CLOSED", "SUSPENDED"},
	{"APPROVED", "DECLINED", "PENDING", "REVERSED", "SETTLED"},
	{"LOST", "STOLEN", "FRAUD", "CUSTOMER_REQUEST", "EXPIRED", "DAMAGED", "OVERDUE"},
	{"ECOMMERCE", "POS", "ATM", "MOBILE_APP", "BACKOFFICE", "API", "IVR"},
	{"CHIP", "CONTACTLESS", "MAGSTRIPE", "MANUAL", "TOKEN"},
	{"VISA", "MASTERCARD", "ELO", "AMEX", "PIX"},
}

var currencies = []string{"BRL", "BRL", "BRL", "USD", "USD", "EUR", "MXN", "COP", "GBP", "ARS"}

var words = []string{
	"payment", "purchase", "transfer", "refund", "monthly", "annual", "fee", "interest", "credit",
	"debit", "online", "store", "market", "super", "pharmacy", "gas", "station", "restaurant",
	"coffee", "bakery", "books", "travel", "airline", "hotel", "uber", "ifood", "netflix",
	"spotify", "amazon", "mercado", "livre", "magalu", "renner", "posto", "ipiranga", "shell",
	"drogasil", "padaria", "pao", "acucar", "carrefour", "extra", "atacadao", "assai", "centauro",
	"decathlon", "kabum", "americanas", "casas", "bahia", "submarino", "shopee", "aliexpress",
	"google", "apple", "microsoft", "steam", "playstation", "xbox", "cinema", "teatro", "parking",
	"toll", "insurance", "premium", "plan", "subscription", "installment", "adjustment",
	"chargeback", "cashback", "reward", "bonus", "late", "penalty", "tax", "iof", "withdrawal",
	"deposit", "boleto", "pix", "ted", "doc", "wire", "invoice", "bill", "utility", "energy",
	"water", "internet", "mobile", "phone", "recharge", "school", "tuition", "health", "clinic",
	"dentist", "gym", "pet", "shop", "garden", "home", "office", "supply", "service", "repair",
	"auto", "parts", "rental", "delivery", "express", "logistics", "courier", "marketplace",
	"digital", "goods", "gift", "card", "voucher", "lottery", "donation", "charity", "church",
	"club", "membership", "sports", "fashion", "shoes", "jewelry", "beauty", "salon", "spa",
}

var firstNames = []string{"Ana", "Bruno", "Carla", "Daniel", "Eduarda", "Felipe", "Gabriela", "Henrique",
	"Isabela", "João", "Karina", "Lucas", "Mariana", "Nicolas", "Olívia", "Pedro", "Rafaela",
	"Samuel", "Tatiane", "Vinícius", "Beatriz", "Gustavo", "Larissa", "Matheus", "Fernanda"}

var lastNames = []string{"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves",
	"Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes",
	"Soares", "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira"}

var streets = []string{"Rua das Flores", "Avenida Paulista", "Rua Augusta", "Avenida Brasil",
	"Rua XV de Novembro", "Avenida Atlântica", "Rua da Consolação", "Avenida Rio Branco",
	"Rua Oscar Freire", "Avenida Beira Mar", "Rua Sete de Setembro", "Alameda Santos"}

var cities = [][2]string{{"São Paulo", "SP"}, {"Rio de Janeiro", "RJ"}, {"Belo Horizonte", "MG"},
	{"Curitiba", "PR"}, {"Porto Alegre", "RS"}, {"Florianópolis", "SC"}, {"Salvador", "BA"},
	{"Recife", "PE"}, {"Fortaleza", "CE"}, {"Brasília", "DF"}, {"Campinas", "SP"}, {"Goiânia", "GO"}}

var tagValues = []string{"vip", "new_customer", "high_risk", "low_risk", "promo", "black_friday",
	"retention", "migrated", "manual_review", "auto_approved", "pix_enabled", "contactless",
	"travel_notice", "student", "premium", "corporate"}

var feeTypes = []string{"ANNUAL_FEE", "LATE_FEE", "WITHDRAWAL_FEE", "IOF", "INTEREST", "FX_MARKUP", "OVERLIMIT"}

var brands = []string{"VISA", "MASTERCARD", "ELO", "AMEX"}

var mccs = []int{5411, 5812, 5814, 5912, 5541, 4111, 4121, 5311, 5651, 5732, 5999, 7011, 4511, 5942, 8220, 4900}

// newEventType draws the payload shape of one event type from r.
func newEventType(r *rand.Rand, name string, version int) eventType {
	et := eventType{name: name, version: version}
	used := map[string]bool{}
	add := func(k fieldKind) {
		names := fieldNames[k]
		for try := 0; try < 4; try++ {
			n := names[r.IntN(len(names))]
			if used[n] {
				continue
			}
			used[n] = true
			f := field{name: n, kind: k}
			switch k {
			case kStatus:
				f.enum = statusValues[r.IntN(len(statusValues))]
			case kConst:
				f.enum = []string{constValues[r.IntN(len(constValues))]}
			}
			et.fields = append(et.fields, f)
			return
		}
	}
	// Every type carries an id, a timestamp and a status, like nearly all
	// real payloads, and two in five a tracking UUID; then 5–9 scalar
	// fields, 3–5 per-type constants and 2–4 nested objects/arrays, which
	// bring the payload to ≈500–1500 bytes.
	add(kInt)
	add(kTime)
	add(kStatus)
	if r.IntN(5) < 2 {
		add(kUUID)
	}
	scalars := []fieldKind{kInt, kAmount, kAmount, kCurrency, kStatus, kStatus, kText, kTime, kBool, kBool, kCode}
	for n := 6 + r.IntN(5); n > 0; n-- {
		add(scalars[r.IntN(len(scalars))])
	}
	for n := 5 + r.IntN(4); n > 0; n-- {
		add(kConst)
	}
	nested := []fieldKind{kAddress, kMerchant, kCustomer, kCard, kInstallments, kTags, kFees, kMetadata}
	for n := 2 + r.IntN(3); n > 0; n-- {
		add(nested[r.IntN(len(nested))])
	}
	// Mostly two or more nested members: keep the smallest shapes from
	// dropping far below 500 bytes.
	if countNested(et.fields) < 2 {
		add(kMetadata)
		add(kAddress)
	}
	return et
}

func countNested(fs []field) int {
	n := 0
	for _, f := range fs {
		if f.kind >= kAddress {
			n++
		}
	}
	return n
}

// payloadWriter appends JSON values to a buffer, drawing from r.
type payloadWriter struct {
	r   *rand.Rand
	buf []byte
	now time.Time // the event's time, for nearby timestamps in the payload

	last [numKinds][]byte // previous value of each entity kind
}

func (p *payloadWriter) key(name string) {
	p.buf = append(p.buf, '"')
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, '"', ':')
}

func (p *payloadWriter) str(s string) {
	p.buf = append(p.buf, '"')
	p.buf = append(p.buf, s...)
	p.buf = append(p.buf, '"')
}

func (p *payloadWriter) pick(list []string) string { return list[p.r.IntN(len(list))] }

// amount writes a money value with two decimals, skewed towards small values.
func (p *payloadWriter) amount() {
	cents := int64(p.r.ExpFloat64() * 15000)
	p.buf = strconv.AppendInt(p.buf, cents/100, 10)
	c := cents % 100
	p.buf = append(p.buf, '.', byte('0'+c/10), byte('0'+c%10))
}

func (p *payloadWriter) id(digits int) {
	lo := int64(1)
	for i := 1; i < digits; i++ {
		lo *= 10
	}
	p.buf = strconv.AppendInt(p.buf, lo+p.r.Int64N(lo*9), 10)
}

func (p *payloadWriter) uuid() {
	p.buf = append(p.buf, '"')
	p.buf = appendUUID(p.buf, p.r)
	p.buf = append(p.buf, '"')
}

// timestamp writes the event's own time (as most payloads repeat it), a
// nearby time, or a date.
func (p *payloadWriter) timestamp() {
	t := p.now.UTC()
	p.buf = append(p.buf, '"')
	switch x := p.r.IntN(4); {
	case x < 2:
		p.buf = t.AppendFormat(p.buf, "2006-01-02T15:04:05.000Z")
	case x == 2:
		t = t.Add(time.Duration(p.r.Int64N(int64(10 * time.Second))))
		p.buf = t.AppendFormat(p.buf, "2006-01-02T15:04:05.000Z")
	default:
		p.buf = t.AddDate(0, 0, p.r.IntN(40)).AppendFormat(p.buf, "2006-01-02")
	}
	p.buf = append(p.buf, '"')
}

func (p *payloadWriter) text(minWords, maxWords int) {
	p.buf = append(p.buf, '"')
	n := minWords + p.r.IntN(maxWords-minWords+1)
	for i := 0; i < n; i++ {
		if i > 0 {
			p.buf = append(p.buf, ' ')
		}
		p.buf = append(p.buf, p.pick(words)...)
	}
	// A few descriptors carry escaped quotes, as merchants' names do.
	if p.r.IntN(50) == 0 {
		p.buf = append(p.buf, ` \"`...)
		p.buf = append(p.buf, p.pick(words)...)
		p.buf = append(p.buf, `\"`...)
	}
	p.buf = append(p.buf, '"')
}

func (p *payloadWriter) name() {
	p.buf = append(p.buf, '"')
	p.buf = append(p.buf, p.pick(firstNames)...)
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, p.pick(lastNames)...)
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, p.pick(lastNames)...)
	p.buf = append(p.buf, '"')
}

func (p *payloadWriter) digits(n int) {
	p.buf = append(p.buf, '"')
	for i := 0; i < n; i++ {
		p.buf = append(p.buf, byte('0'+p.r.IntN(10)))
	}
	p.buf = append(p.buf, '"')
}

// value writes the value of f. Entities (ids, descriptions, customers, cards,
// merchants, addresses, devices) recur: events come in bursts about the same
// account, so half of them repeat the previous value of their kind, within
// gzip's window, as real batches do.
func (p *payloadWriter) value(f *field) {
	switch f.kind {
	case kInt, kText, kCustomer, kCard, kMerchant, kAddress, kMetadata:
		last := p.last[f.kind]
		if len(last) > 0 && p.r.IntN(2) == 0 {
			p.buf = append(p.buf, last...)
			return
		}
		start := len(p.buf)
		p.fresh(f)
		p.last[f.kind] = append(last[:0], p.buf[start:]...)
	default:
		p.fresh(f)
	}
}

// fresh writes a newly drawn value of f.
func (p *payloadWriter) fresh(f *field) {
	switch f.kind {
	case kInt:
		p.id(3 + p.r.IntN(5))
	case kAmount:
		p.amount()
	case kCurrency:
		p.str(p.pick(currencies))
	case kStatus, kConst:
		p.str(p.pick(f.enum))
	case kText:
		p.text(2, 5)
	case kUUID:
		p.uuid()
	case kTime:
		p.timestamp()
	case kBool:
		if p.r.IntN(4) == 0 {
			p.buf = append(p.buf, "true"...)
		} else {
			p.buf = append(p.buf, "false"...)
		}
	case kCode:
		p.digits(6)
	case kAddress:
		p.address()
	case kMerchant:
		p.merchant()
	case kCustomer:
		p.customer()
	case kCard:
		p.card()
	case kInstallments:
		p.installments()
	case kTags:
		p.tags()
	case kFees:
		p.fees()
	case kMetadata:
		p.metadata()
	}
}

func (p *payloadWriter) address() {
	c := cities[p.r.IntN(len(cities))]
	p.buf = append(p.buf, '{')
	p.key("street")
	p.str(p.pick(streets))
	p.buf = append(p.buf, ',')
	p.key("number")
	p.digits(1 + p.r.IntN(4))
	p.buf = append(p.buf, ',')
	p.key("complement")
	if p.r.IntN(3) == 0 {
		p.buf = append(p.buf, "null"...)
	} else {
		p.buf = append(p.buf, `"apto `...)
		p.buf = strconv.AppendInt(p.buf, int64(11+p.r.IntN(190)), 10)
		p.buf = append(p.buf, '"')
	}
	p.buf = append(p.buf, ',')
	p.key("city")
	p.str(c[0])
	p.buf = append(p.buf, ',')
	p.key("state")
	p.str(c[1])
	p.buf = append(p.buf, ',')
	p.key("zip_code")
	p.digits(8)
	p.buf = append(p.buf, ',')
	p.key("country")
	p.str("BRA")
	p.buf = append(p.buf, '}')
}

func (p *payloadWriter) merchant() {
	c := cities[p.r.IntN(len(cities))]
	p.buf = append(p.buf, '{')
	p.key("id")
	p.digits(15)
	p.buf = append(p.buf, ',')
	p.key("name")
	p.text(1, 3)
	p.buf = append(p.buf, ',')
	p.key("mcc")
	p.buf = strconv.AppendInt(p.buf, int64(mccs[p.r.IntN(len(mccs))]), 10)
	p.buf = append(p.buf, ',')
	p.key("city")
	p.str(c[0])
	p.buf = append(p.buf, ',')
	p.key("country_code")
	p.str("076")
	p.buf = append(p.buf, ',')
	p.key("terminal_id")
	p.digits(8)
	p.buf = append(p.buf, '}')
}

func (p *payloadWriter) customer() {
	p.buf = append(p.buf, '{')
	p.key("id")
	p.id(7)
	p.buf = append(p.buf, ',')
	p.key("name")
	p.name()
	p.buf = append(p.buf, ',')
	p.key("document_number")
	p.digits(11)
	p.buf = append(p.buf, ',')
	p.key("email")
	p.buf = append(p.buf, '"')
	p.buf = append(p.buf, p.pick(words)...)
	p.buf = append(p.buf, '.')
	p.buf = strconv.AppendInt(p.buf, int64(p.r.IntN(10000)), 10)
	p.buf = append(p.buf, "@example.com\""...)
	p.buf = append(p.buf, ',')
	p.key("birth_date")
	p.buf = append(p.buf, '"')
	p.buf = strconv.AppendInt(p.buf, int64(1950+p.r.IntN(55)), 10)
	p.buf = append(p.buf, '-')
	p.buf = append2(p.buf, 1+p.r.IntN(12))
	p.buf = append(p.buf, '-')
	p.buf = append2(p.buf, 1+p.r.IntN(28))
	p.buf = append(p.buf, '"')
	p.buf = append(p.buf, '}')
}

func (p *payloadWriter) card() {
	p.buf = append(p.buf, '{')
	p.key("id")
	p.id(8)
	p.buf = append(p.buf, ',')
	p.key("brand")
	p.str(p.pick(brands))
	p.buf = append(p.buf, ',')
	p.key("last4")
	p.digits(4)
	p.buf = append(p.buf, ',')
	p.key("type")
	if p.r.IntN(3) == 0 {
		p.str("VIRTUAL")
	} else {
		p.str("PLASTIC")
	}
	p.buf = append(p.buf, ',')
	p.key("expiration")
	p.buf = append(p.buf, '"')
	p.buf = append2(p.buf, 1+p.r.IntN(12))
	p.buf = append(p.buf, '/')
	p.buf = strconv.AppendInt(p.buf, int64(25+p.r.IntN(8)), 10)
	p.buf = append(p.buf, '"', '}')
}

func (p *payloadWriter) installments() {
	n := 1 + p.r.IntN(6)
	due := p.now.UTC()
	p.buf = append(p.buf, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			p.buf = append(p.buf, ',')
		}
		p.buf = append(p.buf, '{')
		p.key("number")
		p.buf = strconv.AppendInt(p.buf, int64(i+1), 10)
		p.buf = append(p.buf, ',')
		p.key("amount")
		p.amount()
		p.buf = append(p.buf, ',')
		p.key("due_date")
		p.buf = append(p.buf, '"')
		p.buf = due.AddDate(0, i+1, 0).AppendFormat(p.buf, "2006-01-02")
		p.buf = append(p.buf, '"', '}')
	}
	p.buf = append(p.buf, ']')
}

func (p *payloadWriter) tags() {
	n := p.r.IntN(5)
	p.buf = append(p.buf, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			p.buf = append(p.buf, ',')
		}
		p.str(p.pick(tagValues))
	}
	p.buf = append(p.buf, ']')
}

func (p *payloadWriter) fees() {
	n := 1 + p.r.IntN(3)
	p.buf = append(p.buf, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			p.buf = append(p.buf, ',')
		}
		p.buf = append(p.buf, '{')
		p.key("type")
		p.str(p.pick(feeTypes))
		p.buf = append(p.buf, ',')
		p.key("amount")
		p.amount()
		p.buf = append(p.buf, ',')
		p.key("rate")
		p.buf = append(p.buf, '0', '.')
		p.buf = strconv.AppendInt(p.buf, int64(10+p.r.IntN(89)), 10)
		p.buf = append(p.buf, '}')
	}
	p.buf = append(p.buf, ']')
}

func (p *payloadWriter) metadata() {
	p.buf = append(p.buf, '{')
	p.key("source")
	p.str(p.pick(statusValues[3]))
	p.buf = append(p.buf, ',')
	p.key("ip_address")
	p.buf = append(p.buf, '"')
	p.buf = strconv.AppendInt(p.buf, int64(10+p.r.IntN(180)), 10)
	for i := 0; i < 3; i++ {
		p.buf = append(p.buf, '.')
		p.buf = strconv.AppendInt(p.buf, int64(p.r.IntN(256)), 10)
	}
	p.buf = append(p.buf, '"', ',')
	p.key("user_agent")
	p.str(userAgents[p.r.IntN(len(userAgents))])
	p.buf = append(p.buf, ',')
	p.key("device_model")
	p.str(deviceModels[p.r.IntN(len(deviceModels))])
	p.buf = append(p.buf, ',')
	p.key("retries")
	p.buf = strconv.AppendInt(p.buf, int64(p.r.IntN(3)), 10)
	p.buf = append(p.buf, '}')
}

var deviceModels = []string{"iPhone15,2", "iPhone14,5", "SM-S918B", "SM-A546E", "moto g84", "Redmi Note 12", "web", "unknown"}

var userAgents = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/120.0 Mobile",
	"PismoMobile/4.12.0 (Android 13)", "PismoMobile/4.12.1 (iOS 17.1)",
	"okhttp/4.12.0", "Go-http-client/2.0", "python-requests/2.31.0",
}

// payload appends the "data" object of one event of type et.
func (p *payloadWriter) payload(et *eventType) {
	p.buf = append(p.buf, '{')
	for i := range et.fields {
		if i > 0 {
			p.buf = append(p.buf, ',')
		}
		f := &et.fields[i]
		p.key(f.name)
		// Optional fields are sometimes null, as in real exports.
		if f.kind != kInt && i > 3 && p.r.IntN(8) == 0 {
			p.buf = append(p.buf, "null"...)
			continue
		}
		p.value(f)
	}
	p.buf = append(p.buf, '}')
}

// append2 appends v (0..99) as two digits.
func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

const hexDigits = "0123456789abcdef"

// appendUUID appends a random RFC 4122 version-4-shaped UUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	var u [16]byte
	a, c := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(c >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0x0f])
	}
	return b
}
