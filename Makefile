# otelwait. `make demo` shows the problem and the fix against a real
# Collector; `make build` builds the static binary; `make test` runs every
# check CI runs.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: demo build test unit lint cross e2e bench bench-smoke fuzz clean

# The first run builds a Collector from source: minutes on two cores.
demo:
	cd e2e && $(GO) run ./cmd/demo

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o otelwait .

test: lint unit cross e2e bench-smoke

lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

# A real Collector and the OpenTelemetry SDK against otelwait (module e2e/).
e2e:
	cd e2e && $(GO) vet ./... && $(GO) test -count=1 ./...

# Benchmarks against peers, side by side: about 9 minutes; rewrites
# docs/BENCHMARKS.md. Run it on a quiet machine.
bench:
	bash bench/run.sh

# One run of every benchmark metric: checks the harness, not the numbers.
bench-smoke:
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./... && $(GO) test -count=1 ./...
	bash bench/run.sh --smoke

# Static cross-builds for the image's platforms.
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/otelwait-linux-amd64 .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/otelwait-linux-arm64 .

# A short run of every fuzz target (the seeds alone run with `make unit`).
fuzz:
	for f in FuzzTCP FuzzGRPC FuzzHTTP FuzzOTLP FuzzStatusSet FuzzBackoff FuzzHealthStatus; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s ./probe || exit 1; done
	for f in FuzzSplitOptionsVar FuzzAgentArgs FuzzParseEndpoint FuzzParseProperties FuzzSplitArgFile FuzzResolve; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s ./otelconf || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzURL$$' -fuzztime 15s ./internal/redact

clean:
	rm -rf otelwait dist
