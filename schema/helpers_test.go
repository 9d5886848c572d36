package schema

import (
	"bytes"
	"encoding/json"
)

// pismoData is a ~1 KB Pismo-like authorization event payload.
func pismoData() []byte {
	return []byte(`{"authorization_id":98765432101,"account_id":1234567,"customer_id":7654321,"card_id":55501234,` +
		`"program_id":4242,"org_id":"TN-f770039e-aabd-498c-9134-9fde4cac4d51","cid":"7c7737f0-53d4-9b49-9833-e4c47483634e",` +
		`"event_date":"2024-02-01T09:20:39.411067+00:00","authorization_type":"PURCHASE","status":"APPROVED",` +
		`"amount":{"value":150.75,"currency":"BRL","original_value":27.5,"original_currency":"USD","exchange_rate":5.4818},` +
		`"installments":3,"is_international":true,"is_contactless":false,"mcc":"5411","nsu":"000123456",` +
		`"merchant":{"id":"MERCH-0001","name":"SUPERMERCADO EXEMPLO LTDA","city":"SAO PAULO","state":"SP","country":"BRA",` +
		`"postal_code":"01310-100","terminal_id":"T0012345"},` +
		`"entry_mode":"CHIP","pos_data":{"cardholder_present":true,"card_present":true,"pin_verified":true},` +
		`"processing_code":"003000","authorization_code":"A1B2C3","response_code":"00","transaction_id":"3f9a1c52-8e7b-4d6a-b1f0-2c9e8d7a6b5c",` +
		`"tags":["groceries","weekly","family"],"limits":[{"type":"TOTAL","available":8500.25,"total":10000},` +
		`{"type":"INSTALLMENT","available":4200,"total":5000}],"descriptor":"Compra aprovada em São Paulo — obrigado",` +
		`"soft_descriptor":"SUPERMERC*EXEMPLO","network":"MASTERCARD","created_at":"2024-02-01T09:20:39Z","metadata":null}`)
}

// pismoDataPretty is pismoData pretty-printed, as some subscribers deliver it.
func pismoDataPretty() []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, pismoData(), "", "    "); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
