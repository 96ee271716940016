#!/usr/bin/env bash
# Fetches Elasticsearch's REST API specification (the `org.elasticsearch:rest-api-spec` jar:
# one JSON file per API with its paths, methods and URL parameters) for the conformance test
# of the test server (tests/sim/tests/rest_spec.rs); `make test-es` runs it first.
#
#   tests/es-node/rest-spec.sh        # prints the path of the jar
#
# Downloads once from Maven Central, checks the jar against the .sha1 published beside it and
# keeps it under target/rest-spec/, where the test looks for it (ES_REST_SPEC_JAR overrides).
# Nothing of it is committed: the test reads the jar where it lies.
#
# `make test-es` also fetches version 7.10.2 into target/rest-tests/: the last jar that ships
# Elasticsearch's YAML REST tests (rest-api-spec/test/, Apache-2.0) beside the API files, for
# tests/sim/tests/es_yaml.rs.
#
# Settings (environment): ES_REST_SPEC_VERSION (default below; Maven Central has 7.10.2, 9.1.3
# and later, no 8.x), ES_REST_SPEC_CACHE (the directory it is kept in).
set -euo pipefail

version="${ES_REST_SPEC_VERSION:-9.1.5}"
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${ES_REST_SPEC_CACHE:-$repo_root/target/rest-spec}"
url="https://repo.maven.apache.org/maven2/org/elasticsearch/rest-api-spec/$version/rest-api-spec-$version.jar"
jar="$cache/rest-api-spec-$version.jar"

say() { echo "rest-spec: $*" >&2; }
die() { say "$*"; exit 1; }

if [ ! -f "$jar" ]; then
  mkdir -p "$cache"
  say "downloading rest-api-spec $version (about 360 KB) from Maven Central"
  curl -fsSL --retry 3 -o "$jar.part" "$url" \
    || die "cannot download $url: is Maven Central reachable from here (proxy, firewall)? Or point ES_REST_SPEC_JAR at a copy of the jar"
  expected="$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)" \
    || die "cannot download $url.sha1 to check the jar"
  actual="$(sha1sum "$jar.part" | cut -c1-40)"
  if [ "$expected" != "$actual" ]; then
    rm -f "$jar.part"
    die "checksum mismatch for rest-api-spec-$version.jar: expected $expected, got $actual"
  fi
  mv "$jar.part" "$jar"
fi
echo "$jar"
