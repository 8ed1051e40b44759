# Concorde: `make run` builds and starts on embedded SQLite with demo tenants; `make test` runs every test.
GO        ?= go
# Every build and test uses Go 1.27.3: Go 1.26.8 has standard-library vulnerabilities that
# `make vulncheck` reports as reachable. The go command downloads this toolchain through the
# module proxy the first time (about 80 MB); set GOTOOLCHAIN=local to use the machine's Go.
export GOTOOLCHAIN ?= go1.27.3
BIN       := bin
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/concorde-civic/concorde/core/metrics.Version=$(VERSION)

.PHONY: run build test test-long fuzz-long bench lint proto clean vulncheck

run: build
	$(BIN)/concorde serve --demo

PLUGINS   := culture cofinancing candidates
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/concorde .
	for p in $(PLUGINS); do $(GO) build -o $(BIN)/plugins/$$p ./plugins/$$p || exit 1; done

# Regenerates plugins/sdk/pluginpb from plugins/sdk/proto (needs protoc: apt-get install protobuf-compiler).
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I plugins/sdk/proto \
		--go_out=plugins/sdk/pluginpb --go_opt=paths=source_relative \
		--go-grpc_out=plugins/sdk/pluginpb --go-grpc_opt=paths=source_relative \
		plugins/sdk/proto/plugin.proto

# TEST_DATABASE_URL (a postgres:// URL) also runs every store test on PostgreSQL.
# The plugin SDK is its own module: `./...` does not reach it, so it is vetted and tested on its own.
test:
	$(GO) vet ./...
	cd plugins/sdk && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(GO) test -count=1 -timeout 14m ./...

# Also the 100,000-vote test and the scale suite (10,000 tenants with an admin each, 100,000
# without; 1,000,000 votes over 3,000 proposals beside 10,000 over 300) through the real server
# (core/e2e), on PostgreSQL too when TEST_DATABASE_URL is set.
test-long: fuzz-long
	$(GO) test -count=1 -timeout 60m -tags long ./...

# Fuzz targets (package:target); `make test` runs their committed seeds (testdata/fuzz), this
# explores each for 1,000,000 executions. A failing input is written to the package's
# testdata/fuzz/TARGET: commit it with the fix, it then runs in every `make test`.
FUZZ_TARGETS := ./core/httpapi:FuzzDecodeJSON ./core/httpapi:FuzzLocalPath \
	./core/proposal:FuzzValidateContent ./tenants:FuzzHost ./core/vote:FuzzVoteKey \
	./core/pluginhost:FuzzPluginResponse ./core/consultation:FuzzRenderMarkdown ./core/forwarded:FuzzClient
FUZZ_TIME ?= 1000000x
fuzz-long:
	for t in $(FUZZ_TARGETS); do \
		$(GO) test -timeout 60m -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZ_TIME) "$${t%%:*}" || exit 1; \
	done

# Speed of the real server against a plain route, on SQLite then PostgreSQL (skipped with a
# note if unreachable); BENCH_FLAGS=-quick leaves out the 1,000,000-vote results part and the
# scale suite (-scale 300:10000,3000:1000000; add 30000:10000000 for 10,000,000 votes;
# -scale-sqlite FILE and -scale-pg-schema NAME keep the seeded consultations for the next run).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/concorde_bench?sslmode=disable
bench:
	$(GO) run ./ops/bench -pg '$(BENCH_DATABASE_URL)' $(BENCH_FLAGS)

# Attacks on the real server through its API (issue 8): an organised 5 % bloc through direct
# links, harvested sequence keys and a rare profile; INTEGRITY_FLAGS=-proposals 600 -participants 3000 for the full size.
.PHONY: integrity
integrity:
	$(GO) run ./ops/integrity $(INTEGRITY_FLAGS)

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	cd plugins/sdk && $(GO) vet ./...

# Known vulnerabilities reachable from the code. govulncheck's database (vuln.go.dev) may be
# unreachable: the same reports ship as OSV files in the golang.org/x/vulndb module, which the
# Go module proxy serves, so it is read from there (works offline once downloaded).
vulncheck:
	$(GO) install golang.org/x/vuln/cmd/govulncheck@latest
	db="$$(cd / && $(GO) mod download -json golang.org/x/vulndb@latest | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$$/\1/p')" && \
		test -d "$$db/data/osv" && \
		"$$($(GO) env GOPATH)/bin/govulncheck" -db "file://$$db/data/osv" ./... && \
		cd plugins/sdk && "$$($(GO) env GOPATH)/bin/govulncheck" -db "file://$$db/data/osv" ./...

clean:
	rm -rf $(BIN)
