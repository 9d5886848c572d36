# eventlake — build, demo, tests, benchmarks.
# Needs only Go (1.26+) and a C compiler (cgo, for DuckDB); `make deps`
# installs gcc from Debian's packages when it is missing, and the optional
# native codecs (libdeflate0, libzstd1: 3x faster gzip, faster zstd; the
# binary falls back to pure Go without them).

GO      ?= go
BIN     := bin/eventlake
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
DEMO    := ./demo-lake
PKGS    := ./...

.PHONY: all build demo test test-race test-crash fuzz bench vet fmt tidy deps clean

all: build

deps:
	@command -v gcc >/dev/null 2>&1 || { echo "installing gcc (cgo is needed for DuckDB)"; \
		(apt-get update -qq && apt-get install -y -qq gcc libc6-dev) >/dev/null; }
	@for lib in libdeflate.so.0:libdeflate0 libzstd.so.1:libzstd1; do \
		ldconfig -p 2>/dev/null | grep -q "$${lib%%:*}" || { echo "installing $${lib#*:} (optional native codec)"; \
			(apt-get update -qq && apt-get install -y -qq $${lib#*:}) >/dev/null 2>&1 || \
			echo "  could not install $${lib#*:}: eventlake will use its pure-Go codec"; }; \
	done
	@$(GO) version >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/"; exit 1; }
	$(GO) mod download

build: deps
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/eventlake

# Load the bundled sample exports into ./demo-lake, show what landed, query it.
demo: build
	rm -rf $(DEMO)
	$(BIN) load --lake $(DEMO) --settle 0 testdata/pismo testdata/subscriber testdata/fulfillmenttools
	$(BIN) load --lake $(DEMO) --settle 0 --profile jwo-orders testdata/jwo
	@echo
	@echo "== a second run loads nothing new =="
	$(BIN) load --lake $(DEMO) --settle 0 testdata/pismo testdata/subscriber testdata/fulfillmenttools
	@echo
	$(BIN) status --lake $(DEMO)
	@echo
	@echo "== card-blocked events per org per day, de-duplicated =="
	$(BIN) sql --lake $(DEMO) -c "select org_id, event_date, count(*) as blocked from cards.card_blocked_1 group by all order by all"
	@echo "== latest state of each JWO order =="
	$(BIN) sql --lake $(DEMO) -c "select order_id, order_status, order_total, updated_at from orders order by order_id"
	@echo "Explore: $(BIN) sql --lake $(DEMO)    (try .tables)"

vet:
	$(GO) vet $(PKGS)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# go.mod and go.sum must be what `go mod tidy` makes them.
tidy:
	$(GO) mod tidy -diff

# The test suite CI runs: vet, formatting, a tidy go.mod, every package's
# tests (including the short crash-recovery trials and real protocol servers
# in-process).
test: deps fmt vet tidy
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 30m $(PKGS)

test-race: deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 45m $(PKGS)

# SIGKILL at every step of the commit protocol and at 50 random instants, for
# loads (during writing, commit and publish) and compactions (loader/crash_test.go,
# partitions/compact/crash_test.go); at each step of reprocess, forget, expire,
# the Iceberg and bucket commits and before a manifest that catalog rebuild
# reads (lake/, cmd/eventlake/*crash*, *Crash* tests).
test-crash: deps
	EVENTLAKE_CRASH_TRIALS=50 CGO_ENABLED=1 $(GO) test -count=1 -timeout 60m -run 'Crash' -v ./loader/ ./partitions/compact/ ./lake/ ./cmd/eventlake/

FUZZTIME ?= 20s
fuzz: deps
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# Every input shape against DuckDB's COPY; BENCHFLAGS="-shape jwo-orders -rounds 5" for one shape, more rounds.
bench: build
	$(GO) run ./bench/cmd/lakebench $(BENCHFLAGS)

clean:
	rm -rf bin $(DEMO)
