# Skiff's everyday commands. `make test` is the whole suite (what CI runs);
# it installs what the client compat tests need (kcat from apt, Maven, npm and
# pip packages) and Rust's wasm32-wasip1 target (rustup) when missing.

GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
PKGS      := ./...
BROKER_PKGS := ./protocol/... ./raftlog/... ./broker/... ./cmd/...
# The race detector also runs over the SmartModule packages: the broker runs
# their chains, engine and native built-ins from many goroutines at once.
RACE_PKGS := $(BROKER_PKGS) ./transforms/...

.PHONY: all build test unit other race compat check fmt vet staticcheck tidy-check cross bench bench-compare fuzz chaos clean kafka-up kafka-down

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/skiff ./cmd/skiff

## test: everything CI runs: checks, the broker's tests with -race, the
## other packages' tests (SmartModules, bench tool; raftlog with its
## `invariants` build tag), and the compat suite.
## other adds Rust's wasm32-wasip1 target when rustup lacks it; its tests of
## modules built with Redpanda's Rust SDK skip, loudly, without it
## (SKIFF_RUST_STRICT=1 makes them fail).
test: check other race compat

unit:
	$(GO) test -count=1 $(PKGS)

other:
	@bash compat-tests/install.sh rust_target
	SKIFF_COMPAT_STRICT=1 $(GO) test -count=1 ./transforms/... ./bench/...
	$(GO) test -count=1 -tags invariants ./raftlog/...

race:
	$(GO) test -race -count=1 $(RACE_PKGS)

## compat: real clients (Go, Java, kafkajs, Python, kcat) against a real skiff server.
compat:
	bash compat-tests/install.sh
	cd compat-tests && SKIFF_COMPAT_STRICT=1 $(GO) test -count=1 -timeout 20m ./...

check: fmt vet staticcheck tidy-check cross

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	cd compat-tests && $(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)
	cd compat-tests && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

tidy-check:
	@cp go.mod /tmp/skiff-go.mod.bak && cp go.sum /tmp/skiff-go.sum.bak
	@$(GO) mod tidy && git diff --exit-code go.mod go.sum || { echo "go mod tidy changes go.mod/go.sum: run it and commit"; cp /tmp/skiff-go.mod.bak go.mod; cp /tmp/skiff-go.sum.bak go.sum; exit 1; }

## cross: the static binary builds for linux/amd64 and linux/arm64.
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -o /dev/null ./cmd/skiff
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./cmd/skiff

## bench: produce/consume throughput, Skiff vs kfake (a separate process), same run.
bench:
	bash bench/run.sh

## bench-compare: Skiff vs Apache Kafka vs kfake in one run (Kafka's perf tools and
## franz-go; throughput, latency at 20k rec/s, cold start, RSS, install size):
## bench/results/latest.{json,md,svg} and the README table; ~7 min a round (ROUNDS, default 1), QUICK=1 a few.
## Not part of test: it needs a quiet machine and takes long.
bench-compare:
	bash bench/compare.sh

## fuzz: each decoder fuzzer for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzRequestFrame -fuzztime=$(FUZZTIME) ./protocol/
	$(GO) test -run='^$$' -fuzz=FuzzValidateBatches -fuzztime=$(FUZZTIME) ./protocol/
	$(GO) test -run='^$$' -fuzz=FuzzParseRecords -fuzztime=$(FUZZTIME) ./protocol/
	$(GO) test -run='^$$' -fuzz=FuzzDecompress -fuzztime=$(FUZZTIME) ./protocol/
	$(GO) test -run='^$$' -fuzz=FuzzRaftlogOffsetsDecode -fuzztime=$(FUZZTIME) ./raftlog/

## chaos: crash and kill -9 tests, repeated.
chaos:
	$(GO) test -count=5 -run 'Kill9|Crash' ./raftlog/

## kafka-up: Apache Kafka 4.x (KRaft) on free 127.0.0.1 ports, its bootstrap address last;
## KAFKA_NODES=3 starts a three-node cluster. The first run fetches the jars with Maven.
KAFKA_NODES ?= 1
kafka-up:
	@bash compat-tests/reference/kafka.sh $(if $(filter 3,$(KAFKA_NODES)),up3,up)

## kafka-down: stop the Kafka that kafka-up started.
kafka-down:
	@bash compat-tests/reference/kafka.sh down

clean:
	rm -rf bin
