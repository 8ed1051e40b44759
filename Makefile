# Concorde: `make run` builds and starts on embedded SQLite with demo tenants; `make test` runs every test.
GO        ?= go
BIN       := bin
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/concorde-civic/concorde/core/metrics.Version=$(VERSION)

.PHONY: run build test test-long bench lint proto clean

run: build
	$(BIN)/concorde serve --demo

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/concorde .

# TEST_DATABASE_URL (a postgres:// URL) also runs every store test on PostgreSQL.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 14m ./...

test-long:
	$(GO) test -count=1 -timeout 60m -tags long ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
