#!/usr/bin/env bash
# Runs a command against a real, throw-away Elasticsearch node: `make test-es` uses it.
#
#   tests/es-node/with-es.sh COMMAND [ARGS...]
#
# Downloads Elasticsearch's own distribution zip from Maven Central (checked against the
# .sha1 published beside it, cached under target/es-node/ so later runs do not download),
# starts one node on a free port of 127.0.0.1 (single node, no security, 512 MiB heap, data
# in a temporary directory), waits until it answers, runs COMMAND with ES_URL pointing at
# it, and stops it — on success, failure or Ctrl-C (trap EXIT). A watchdog in its own session
# stops the node too if this script is killed outright, and after ES_NODE_MAX_SECONDS
# (default 3 hours) whatever happens.
#
# The zip is the distribution Elasticsearch builds for its own integration tests: the server
# with the modules transport-netty4, x-pack-core, x-pack-security and apm only (the README,
# "Testing against a real Elasticsearch", lists what the tests cannot check there).
#
# Settings (environment): ES_NODE_VERSION (default below), ES_JAVA_HOME (else JAVA_HOME when
# it is Java 17 or later, else the first JDK found), ES_NODE_HEAP (default 512m).
set -euo pipefail

version="${ES_NODE_VERSION:-8.19.21}"
heap="${ES_NODE_HEAP:-512m}"
max_seconds="${ES_NODE_MAX_SECONDS:-10800}"
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$repo_root/target/es-node"
maven="https://repo.maven.apache.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch"

say() { echo "es-node: $*" >&2; }
die() { say "$*"; exit 1; }

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"

# --- the distribution: download once, verify, keep -------------------------------------
zip="$cache/elasticsearch-$version.zip"
if [ ! -f "$zip" ]; then
  mkdir -p "$cache"
  say "downloading Elasticsearch $version (integ-test-zip, about 107 MB) from Maven Central"
  curl -fsSL --retry 3 -o "$zip.part" "$maven/$version/elasticsearch-$version.zip"
  expected="$(curl -fsSL --retry 3 "$maven/$version/elasticsearch-$version.zip.sha1" | cut -c1-40)"
  actual="$(sha1sum "$zip.part" | cut -c1-40)"
  if [ "$expected" != "$actual" ]; then
    rm -f "$zip.part"
    die "checksum mismatch for elasticsearch-$version.zip: expected $expected, got $actual"
  fi
  mv "$zip.part" "$zip"
fi

if ! command -v unzip >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq unzip >/dev/null
  else
    die "unzip is needed: install it (apt-get install unzip)"
  fi
fi

# --- a JDK: Elasticsearch 8.19 runs on 17 and on 21 or later ------------------------------
java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
java_home="${ES_JAVA_HOME:-}"
if [ -z "$java_home" ] && [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] \
  && [ "$(java_major "$JAVA_HOME")" -ge 17 ]; then
  java_home="$JAVA_HOME"
fi
if [ -z "$java_home" ]; then
  for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-* /usr/lib/jvm/temurin-2[1-9]-jdk-* /usr/lib/jvm/*; do
    if [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate")" -ge 17 ]; then
      java_home="$candidate"
      break
    fi
  done
fi
[ -n "$java_home" ] || die "no JDK 17 or later found: install one (apt-get install openjdk-17-jdk-headless) or set ES_JAVA_HOME"

# --- a scratch directory for the node: home, config, data, logs -------------------------
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/es-node.XXXXXX")"
node_pgid=""
watchdog_pid=""

stop_node() {
  if [ -n "$node_pgid" ] && kill -0 -- "-$node_pgid" 2>/dev/null; then
    say "stopping the node"
    kill -TERM -- "-$node_pgid" 2>/dev/null || true
    for _ in $(seq 60); do
      kill -0 -- "-$node_pgid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$node_pgid" 2>/dev/null || true
  fi
  if [ -n "$watchdog_pid" ]; then
    kill "$watchdog_pid" 2>/dev/null || true
  fi
  rm -rf "$run_dir"
}
command_pid=""
# A signal stops the command too (it runs in the background so that the trap fires at once).
on_signal() {
  if [ -n "$command_pid" ]; then kill -TERM "$command_pid" 2>/dev/null || true; fi
  exit "$1"
}
trap stop_node EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

unzip -q "$zip" -d "$run_dir"
home="$run_dir/elasticsearch-$version"
mkdir -p "$run_dir/data" "$run_dir/logs" "$run_dir/tmp"

# Elasticsearch refuses to run as root: as root (CI, containers), run it as `nobody`.
as_node_user=()
if [ "$(id -u)" = 0 ]; then
  chown -R nobody "$run_dir"
  as_node_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi

# A free port: the first of a few random ones that nothing on 127.0.0.1 answers on.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  for _ in $(seq 50); do
    local p=$((20000 + RANDOM % 40000))
    if port_is_free "$p"; then echo "$p"; return 0; fi
  done
  return 1
}
http_port="$(pick_port)" || die "no free port found on 127.0.0.1"
transport_port="$(pick_port)" || die "no free port found on 127.0.0.1"

# --- start it, in its own session so that one signal stops the launcher and the server ---
say "starting Elasticsearch $version on 127.0.0.1:$http_port (Java $(java_major "$java_home") from $java_home)"
setsid "${as_node_user[@]}" env -i PATH="$PATH" HOME="$run_dir" \
  ES_JAVA_HOME="$java_home" ES_PATH_CONF="$home/config" ES_TMPDIR="$run_dir/tmp" \
  ES_JAVA_OPTS="-Xms$heap -Xmx$heap" \
  "$home/bin/elasticsearch" \
  -E cluster.name=es-node-test \
  -E node.name=es-node-test \
  -E network.host=127.0.0.1 \
  -E http.port="$http_port" \
  -E transport.port="$transport_port" \
  -E discovery.type=single-node \
  -E xpack.security.enabled=false \
  -E cluster.routing.allocation.disk.threshold_enabled=false \
  -E action.destructive_requires_name=false \
  -E path.data="$run_dir/data" \
  -E path.logs="$run_dir/logs" \
  >"$run_dir/node.log" 2>&1 </dev/null &
node_pgid=$!

# The watchdog outlives a `kill -9` of this script (own session) and stops the node then.
script_pid=$$
setsid bash -c '
  deadline=$((SECONDS + '"$max_seconds"'))
  while kill -0 '"$script_pid"' 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 2; done
  kill -TERM -- -'"$node_pgid"' 2>/dev/null; sleep 20; kill -KILL -- -'"$node_pgid"' 2>/dev/null
  rm -rf '"'$run_dir'"'
' >/dev/null 2>&1 </dev/null &
watchdog_pid=$!

url="http://127.0.0.1:$http_port"
started=$SECONDS
until curl -fsS -o /dev/null "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null; do
  if ! kill -0 "$node_pgid" 2>/dev/null; then
    tail -n 40 "$run_dir/node.log" >&2 || true
    die "Elasticsearch exited while starting (log above)"
  fi
  if [ $((SECONDS - started)) -gt 180 ]; then
    tail -n 40 "$run_dir/node.log" >&2 || true
    die "Elasticsearch did not answer within 180 s (log above)"
  fi
  sleep 1
done
say "up after $((SECONDS - started)) s: $url"

# The connector names `search-default-ingestion` on every _bulk. Elasticsearch's ent-search
# module installs it, with processors from ingest-common and ingest-attachment; this node has
# none of the three, so a pipeline of that name without processors stands in: the bulk path
# with ?pipeline= runs, the processing does not (tests that check it skip, saying so).
curl -fsS -o /dev/null -X PUT "$url/_ingest/pipeline/search-default-ingestion" \
  -H 'content-type: application/json' \
  -d '{"description": "stand-in: this node lacks ingest-common and ingest-attachment", "processors": []}'

# --- run the command against it -----------------------------------------------------------
export ES_URL="$url"
unset ES_API_KEY ES_USERNAME ES_PASSWORD
set +e
"$@" &
command_pid=$!
wait "$command_pid"
status=$?
set -e
say "command exited with $status"
exit "$status"
