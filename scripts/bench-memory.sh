#!/usr/bin/env bash
# The page memory benchmark: crawl on listing pages that are large (six of
# 31 MiB with a million links each, two of 12 MB, the 31 MiB ones
# gzip-compressed) or endless (--pages 1-999999999999), served by a Go
# server in the benchmark; prints the peak summed RSS and PSS of crawl's
# process tree (sampled every 50 ms) and, for the endless range, the time
# to the first listing request.
#   ./scripts/bench-memory.sh                    # every case, crawl built from here
#   ./scripts/bench-memory.sh -mem a,d           # some cases
#   ./scripts/bench-memory.sh --crawl OTHER      # another binary
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crawl-bench-mem-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./bench
args=(-mem all)
crawl_given=no
for a in "$@"; do
  case "$a" in
    -mem|-mem=*|--mem|--mem=*) args=() ;;
    --crawl|--crawl=*|-crawl|-crawl=*) crawl_given=yes ;;
  esac
done
if [ "$crawl_given" = no ]; then
  go build -o "$tmp/crawl" ./cmd/crawl
  args+=(--crawl "$tmp/crawl" --label "built from $(git describe --always --dirty 2>/dev/null || echo unknown)")
fi
exec "$tmp/bench" "${args[@]}" "$@"
