#!/usr/bin/env bash
# The project's test command: formatting, vet, and every test with the race
# detector. Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  echo "test.sh: Go is not installed (see README.md)" >&2
  exit 1
fi

# The Redis backend's tests run against a real redis-server, the proxy
# tests against real tinyproxy (HTTP) and microsocks (SOCKS5) servers, all
# Debian's. The packages may start system-wide servers; the tests start
# their own, so those are stopped. The HLS tests run Debian's ffmpeg and
# ffprobe (one package).
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
command -v microsocks >/dev/null 2>&1 || missing="$missing microsocks"
command -v prlimit >/dev/null 2>&1 || missing="$missing util-linux"
# --render's tests drive a real headless Chromium.
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
if [ -n "$missing" ]; then
  echo "test.sh: installing$missing" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  for service in $missing; do
    $sudo systemctl stop "$service" >/dev/null 2>&1 || $sudo service "$service" stop >/dev/null 2>&1 || true
  done
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m ./...

# Every fuzz target, a short budget each (FUZZTIME=0 skips them). Their
# seed corpora already ran above as ordinary tests; this looks further.
fuzztime=${FUZZTIME:-3s}
if [ "$fuzztime" != 0 ]; then
  for pkg in ./fetcher ./parser ./store; do
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | sed 's/^func //'); do
      fuzz() { go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" 2>&1; }
      if ! out=$(fuzz); then
        # A failure the engine blames on no input ("context deadline
        # exceeded" when its workers stall on a busy machine) is not the
        # code's: try once more. One with an input is.
        if grep -q 'Failing input written' <<<"$out" || ! out=$(fuzz); then
          printf '%s\n' "$out" | tail -40 >&2
          echo "test.sh: fuzzing $target in $pkg found a failure (its input is in $pkg/testdata/fuzz/$target)" >&2
          exit 1
        fi
      fi
    done
  done
  echo "fuzz: every target ran for $fuzztime without a failure"
fi
