#!/usr/bin/env bash
# The project's whole-run benchmark (issue 7): builds crawl and bench/, then
# generates the workloads, serves them with nginx on 127.0.0.1 and measures
# crawl on each. Flags go to bench (./scripts/bench.sh -h lists them):
#   ./scripts/bench.sh --quick                 # small workloads, seconds
#   ./scripts/bench.sh                         # everything, 3 runs each
#   ./scripts/bench.sh -w w1,w2,w1list -n 5 --json /tmp/bench.json
#   ./scripts/bench.sh --chart peers.json      # docs/bench-ratios.svg from a side-by-side run's JSON
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "bench.sh: Go is not installed (see README.md)" >&2
  exit 1
fi

# The server is Debian's nginx; the benchmark starts its own with its own
# configuration.
if [ ! -x /usr/sbin/nginx ]; then
  echo "bench.sh: installing nginx" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null
  # The package may start a system-wide server; we do not need it.
  $sudo systemctl stop nginx >/dev/null 2>&1 || $sudo service nginx stop >/dev/null 2>&1 || true
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crawl-bench-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

crawl_given=no
for a in "$@"; do
  case "$a" in
    --crawl|--crawl=*|-crawl|-crawl=*) crawl_given=yes ;;
    --chart|--chart=*|-chart|-chart=*) crawl_given=yes ;; # draws, runs nothing
  esac
done

go build -o "$tmp/bench" ./bench
if [ "$crawl_given" = no ]; then
  go build -o "$tmp/crawl" ./cmd/crawl
  rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
  set -- --crawl "$tmp/crawl" --label "built from $rev" "$@"
fi
status=0
"$tmp/bench" "$@" || status=$?
exit "$status"
