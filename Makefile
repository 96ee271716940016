# confluence-connector — see README.md.
# Everything here works on a fresh machine with only a Rust toolchain: the test world
# (Confluence simulator + Elasticsearch test server) is built from this workspace.

CARGO ?= cargo
NAME ?= confluence
DATA_SIZE ?= small
FLAVOUR ?= server
CONFIG ?= config.yml
IMAGE ?= confluence-connector:latest

.PHONY: build test test-es lint demo run ftest bench docker-build docker-run clean

## build: release binaries of the connector and the test world
build:
	$(CARGO) build --release --workspace --bins

## test: formatting, lints, and every test (what CI runs)
test: lint
	$(CARGO) test --workspace --all-targets

## test-es: every integration test and the ftest against a real Elasticsearch node started for
## the purpose (downloaded once from Maven Central; needs a JDK 17+; see README), with
## Elasticsearch's REST spec and YAML REST tests fetched so the test server's conformance
## tests run too; the YAML tests first run on a node of their own, which they may wipe
test-es:
	tests/es-node/rest-spec.sh >/dev/null
	ES_REST_SPEC_VERSION=7.10.2 ES_REST_SPEC_CACHE=target/rest-tests tests/es-node/rest-spec.sh >/dev/null
	tests/es-node/with-es.sh sh -c 'ES_YAML_NODE=$$ES_URL $(CARGO) test -p sim --test es_yaml -- --nocapture --test-threads=1'
	tests/es-node/with-es.sh sh -c '$(CARGO) test --workspace --all-targets && $(MAKE) ftest'

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## demo: start the simulators, run a full sync into the test Elasticsearch, print counts and a hit
demo:
	$(CARGO) build --release --bin confluence-connector
	$(CARGO) run --release --example demo

## run: the long-running service with ./config.yml (copied from config.yml.example if absent)
run:
	@test -f $(CONFIG) || (cp config.yml.example $(CONFIG) && echo "created $(CONFIG) from config.yml.example: edit it")
	$(CARGO) run --release --bin confluence-connector -- run -c $(CONFIG)

## ftest NAME=confluence [DATA_SIZE=small|medium|large] [FLAVOUR=server|data-center|cloud]
ftest:
	@test "$(NAME)" = "confluence" || (echo "only NAME=confluence exists here" && exit 2)
	$(CARGO) build --release --bin confluence-connector
	$(CARGO) run --release --example ftest -- $(DATA_SIZE) $(FLAVOUR)

## bench: benchmarks; tables on stdout, JSON under target/bench/ (about 45 min on 2 cores)
bench:
	@command -v /usr/bin/time >/dev/null || (apt-get update -qq && apt-get install -y -qq time) || true
	$(CARGO) bench --bench storage_text
	$(CARGO) bench --bench bulk_encode
	$(CARGO) bench --bench attachment_text
	$(CARGO) bench --bench full_sync -- medium large pages=100000 runs=3 latency-ms=50
	$(CARGO) bench --bench full_sync -- pages=10000 pages=100000 pages=1000000 runs=1 latency-ms=0 extract=off name=full_sync_scale
	$(CARGO) bench --bench full_sync -- pages=2000 runs=3 latency-ms=0 attachments=8MiB name=full_sync_8mib
	$(CARGO) bench --bench full_sync -- medium runs=3 latency-ms=0 attachments=mix name=full_sync_mix
	$(CARGO) bench --bench full_sync -- pages=500 runs=5 latency-ms=0 attachments=8MiB equal-bytes=8 throughput-mibps=8 name=full_sync_equal_bytes
	$(CARGO) bench --bench full_sync -- medium runs=3 latency-ms=0 name=full_sync_clean_0ms
	$(CARGO) bench --bench full_sync -- medium runs=3 latency-ms=0 reject=0.3 name=full_sync_reject
	$(CARGO) bench --bench incremental_sync -- pages=100000 rounds=3

docker-build:
	docker build -f docker/Dockerfile -t $(IMAGE) .

docker-run:
	docker run --rm --stop-timeout 40 -v $(PWD)/$(CONFIG):/config/config.yml:ro $(IMAGE)

clean:
	$(CARGO) clean
