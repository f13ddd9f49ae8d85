#!/usr/bin/env bash
# Benchmarks otelwait against the peers one can install here, and writes
# docs/BENCHMARKS.md.
#
#   bench/run.sh            full run, about 9 minutes; rewrites docs/BENCHMARKS.md
#   bench/run.sh --smoke    one run of each metric (also BENCH_SMOKE=1), for CI:
#                           timings mean nothing, the report goes to a temporary
#                           file, and any broken measurement fails the run
#
# Peers are installed on first use under bench/.peers/ (git-ignored), with
# nothing but the Go module proxy, Debian's archive (apt-get, as root) and the
# npm registry; a peer that can't be installed is reported as such. Extra flags
# for the harness (see `go run . -h` in bench/) go in BENCH_ARGS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
smoke=${BENCH_SMOKE:-0}
[[ $smoke == 0 || $smoke == "" ]] && smoke=0 || smoke=1
for arg in "$@"; do
  case $arg in
    --smoke) smoke=1 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument \"$arg\" (want --smoke)" >&2; exit 2 ;;
  esac
done

# Pinned peers.
WAIT_FOR_IT_DEB=0.0~git20180723-1
WAIT_ON_NPM=9.5.1
DOCKERIZE_MOD=v0.9.3
GRPC_HEALTH_PROBE_MOD=v0.4.62

peers=$here/.peers
status=$peers/status
mkdir -p "$peers/bin" "$status"
export CGO_ENABLED=0
log() { echo "run.sh: $*" >&2; }

# record NAME ok|failed VERSION DETAIL: one line of the manifest the harness reads.
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\n'/ }" >"$status/$1"; }
installed() { [[ -f $status/$1 ]] && [[ $(cut -f2 "$status/$1") == ok ]] && [[ -e $2 ]]; }

# try NAME VERSION DETAIL FUNCTION: runs the install function once, records
# the outcome (the last lines of its output when it fails).
try() {
  local name=$1 version=$2 detail=$3 fn=$4 out
  out=$(mktemp)
  log "installing $name $version"
  if "$fn" >"$out" 2>&1; then
    record "$name" ok "$version" "$detail"
  else
    record "$name" failed "$version" "install failed: $detail: $(tail -n 3 "$out" | tr '\n\t' '  ')"
    log "$name could not be installed:"; tail -n 5 "$out" >&2
  fi
  rm -f "$out"
}

# --- the harness and its helpers, and otelwait itself (always rebuilt) ---
# The hello world and its siblings that link more of the standard library
# (bench/cmd/floor with the build tag floor_NAME, as
# bench/.peers/bin/hello-NAME) are built alike.
(cd "$here" && go build -o "$peers/bin/bench" . \
  && go build -trimpath -ldflags='-s -w' -o "$peers/bin/hello" ./cmd/hello \
  && for p in net tls nethttp; do go build -trimpath -ldflags='-s -w' -tags "floor_$p" -o "$peers/bin/hello-$p" ./cmd/floor || exit; done)
# The command the tools start: C when a C compiler can link it statically (it
# starts in a fraction of a millisecond), else the same program in Go.
if command -v gcc >/dev/null && gcc -static -O2 -s -o "$peers/bin/stamp" "$here/cstamp/stamp.c" 2>/dev/null; then
  echo "C, static ($(gcc --version | head -n 1); gcc -static -O2 -s bench/cstamp/stamp.c)" >"$peers/bin/stamp.kind"
else
  log "no gcc that links statically: the stamp helper is Go (adds its runtime start to every latency)"
  (cd "$here" && go build -trimpath -ldflags='-s -w' -o "$peers/bin/stamp" ./cmd/stamp)
  echo "Go, static (no C compiler that links statically here; go build ./cmd/stamp)" >"$peers/bin/stamp.kind"
fi
otelwait_version=$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo dev)
(cd "$repo" && go build -trimpath -ldflags="-s -w -X main.version=$otelwait_version" -o "$peers/bin/otelwait" .)
record otelwait ok "$otelwait_version" "built from this checkout: CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -X main.version=$otelwait_version' ."

# --- wait-for-it: Debian's package, unpacked into bench/.peers/debian ---
install_wait_for_it() {
  command -v apt-get >/dev/null || { echo "no apt-get on this machine"; return 1; }
  local tmp; tmp=$(mktemp -d) || return 1
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download "wait-for-it=$WAIT_FOR_IT_DEB") \
    || { apt-get update -qq && (cd "$tmp" && apt-get download "wait-for-it=$WAIT_FOR_IT_DEB"); } \
    || { rm -rf "$tmp"; return 1; }
  if ! { rm -rf "$peers/debian" && dpkg-deb -x "$tmp"/wait-for-it_*.deb "$peers/debian"; }; then rm -rf "$tmp"; return 1; fi
  rm -rf "$tmp"
  if ! command -v timeout >/dev/null || ! command -v bash >/dev/null; then echo "wait-for-it needs bash and timeout"; return 1; fi
}
installed wait-for-it "$peers/debian/usr/bin/wait-for-it" \
  || try wait-for-it "$WAIT_FOR_IT_DEB" "apt-get download wait-for-it=$WAIT_FOR_IT_DEB; dpkg-deb -x wait-for-it_*.deb bench/.peers/debian" install_wait_for_it

# --- wait-on: npm, into bench/.peers/npm ---
install_wait_on() {
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then echo "no node/npm on this machine"; return 1; fi
  npm install --prefix "$peers/npm" --no-audit --no-fund --loglevel=error "wait-on@$WAIT_ON_NPM" || return 1
  [[ -x $peers/npm/node_modules/.bin/wait-on ]]
}
installed wait-on "$peers/npm/node_modules/.bin/wait-on" \
  || try wait-on "$WAIT_ON_NPM" "npm install --prefix bench/.peers/npm wait-on@$WAIT_ON_NPM" install_wait_on

# --- dockerize: Go module. `go install github.com/jwilder/dockerize@v0.9.3`
# fails here: the module proxy refuses the module's version list (403), which
# go install reads to check for deprecation, and the checksum database may lack
# the module. So: download that exact version, and build it in a copy as its own
# main module (its go.sum pins every dependency).
install_dockerize() {
  local dir tmp
  dir=$(GOFLAGS=-mod=mod GONOSUMDB='github.com/jwilder/*' go mod download -json "github.com/jwilder/dockerize@$DOCKERIZE_MOD" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [[ -n $dir ]] || { echo "go mod download gave no directory"; return 1; }
  tmp=$(mktemp -d) || return 1
  if ! { cp -r "$dir/." "$tmp" && chmod -R u+w "$tmp" \
    && (cd "$tmp" && GOFLAGS=-mod=mod GONOSUMDB='github.com/jwilder/*' go build -trimpath -ldflags='-s -w' -o "$peers/bin/dockerize" .); }; then
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$tmp"
}
installed dockerize "$peers/bin/dockerize" \
  || try dockerize "$DOCKERIZE_MOD" "GONOSUMDB='github.com/jwilder/*' GOFLAGS=-mod=mod go mod download -json github.com/jwilder/dockerize@$DOCKERIZE_MOD, then in a writable copy of that directory CGO_ENABLED=0 GONOSUMDB='github.com/jwilder/*' GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o bench/.peers/bin/dockerize ." install_dockerize

# --- grpc-health-probe: Go module ---
install_grpc_health_probe() {
  GOBIN="$peers/bin" go install -trimpath -ldflags='-s -w' "github.com/grpc-ecosystem/grpc-health-probe@$GRPC_HEALTH_PROBE_MOD"
}
installed grpc-health-probe "$peers/bin/grpc-health-probe" \
  || try grpc-health-probe "$GRPC_HEALTH_PROBE_MOD" "CGO_ENABLED=0 GOBIN=bench/.peers/bin go install -trimpath -ldflags='-s -w' github.com/grpc-ecosystem/grpc-health-probe@$GRPC_HEALTH_PROBE_MOD" install_grpc_health_probe

cat "$status"/* >"$peers/manifest.tsv"

# --- run ---
read -r load1 _ </proc/loadavg
log "1-minute load average: $load1 on $(nproc) CPUs"
args=(-repo "$repo" -peers "$peers")
if [[ $smoke == 1 ]]; then
  out=$(mktemp "${TMPDIR:-/tmp}/BENCHMARKS.smoke.XXXXXX.md")
  args+=(-smoke -out "$out")
else
  out=$repo/docs/BENCHMARKS.md
  mkdir -p "$repo/docs" "$here/out"
  args+=(-out "$here/out/BENCHMARKS.md")
fi
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
(cd "$here" && "$peers/bin/bench" "${args[@]}" ${BENCH_ARGS:-})
if [[ $smoke == 1 ]]; then
  log "smoke run passed; report (numbers mean nothing): $out"
else
  mv "$here/out/BENCHMARKS.md" "$out"
  log "wrote $out"
fi
