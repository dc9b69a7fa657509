#!/usr/bin/env bash
# HLS benchmark: one stream of SEGMENTS MPEG-TS segments (200 by default,
# about 300 KB each, H.264 encoded by ffmpeg from a test source) served by
# Debian's nginx on 127.0.0.1 at RATE per connection (limit_rate, 2m by
# default), downloaded side by side in one run by
#
#   crawl get URL                 (the stream saved as .ts)
#   crawl get --split 8 URL       (8 segments at once, not --per-host's 4)
#   crawl get --remux mp4 URL     (saved as .ts, then remuxed into .mp4)
#   ffmpeg -i URL -c copy out.ts
#   yt-dlp URL                    (Debian's, with its defaults)
#
# Each is timed (wall clock) and its peak memory taken as the largest sum
# of the resident sets of its whole process tree (sampled every 50 ms).
# Ratios are to ffmpeg's. Every output is checked by ffprobe for its
# duration.
#
# nginx's limit_rate lets the first second's worth of each answer go at
# full speed, so with segments smaller than RATE (as here at 2m) it slows
# nothing down and the run measures the cost of each request; RATE=256k
# makes every segment wait for the limit.
#
# Usage: scripts/bench-hls.sh            (SEGMENTS=50 RATE=256k ... to change)
# HLS_SITE=DIR keeps the generated stream in DIR and reuses it next time.
set -euo pipefail
cd "$(dirname "$0")/.."

segments=${SEGMENTS:-200}
rate=${RATE:-2m}
seconds=2 # per segment

# What it needs from Debian, installed when missing.
missing=""
for p in nginx:nginx ffmpeg:ffmpeg ffprobe:ffmpeg yt-dlp:yt-dlp python3:python3; do
  command -v "${p%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${p%%:*}" ] || missing="$missing ${p#*:}"
done
if [ -n "$missing" ]; then
  echo "bench-hls: installing$missing" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  $sudo systemctl stop nginx >/dev/null 2>&1 || $sudo service nginx stop >/dev/null 2>&1 || true
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The stream: SEGMENTS segments of `seconds` each, a key frame at each
# segment's start; the noise keeps the encoder at its bit rate.
site=${HLS_SITE:-$work/site}
if [ ! -f "$site/v/index.m3u8" ] || [ "$(grep -c '^s.*\.ts$' "$site/v/index.m3u8")" != "$segments" ]; then
  echo "bench-hls: encoding a stream of $segments segments into $site ..." >&2
  rm -rf "$site/v" && mkdir -p "$site/v"
  ffmpeg -nostdin -hide_banner -loglevel error \
    -f lavfi -i "testsrc=size=320x240:rate=10,noise=alls=12:allf=t" -t $((segments * seconds)) \
    -c:v libx264 -preset ultrafast -b:v 1200k -maxrate 1200k -bufsize 1200k -g $((10 * seconds)) \
    -f hls -hls_time $seconds -hls_list_size 0 -hls_playlist_type vod \
    -hls_segment_filename "$site/v/s%04d.ts" "$site/v/index.m3u8"
fi
bytes=$(cat "$site"/v/*.ts | wc -c)

echo "bench-hls: building crawl ..." >&2
go build -o "$work/crawl" ./cmd/crawl

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=""
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    types {
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
    }
    server {
        listen 127.0.0.1:$port;
        root $site;
        limit_rate $rate;
    }
}
EOF
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
url="http://127.0.0.1:$port/v/index.m3u8"
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('$url')" 2>/dev/null && break
  sleep 0.1
done

# measure NAME OUTPUT CMD...: runs CMD under setsid in a fresh folder,
# sampling the resident memory of its process tree, and appends
# "NAME wall_seconds peak_kb output" to the results.
results="$work/results"
: >"$results"
measure() {
  local name=$1 output=$2
  shift 2
  local dir="$work/run-$name"
  mkdir -p "$dir"
  local start end peak=0 rss pid sid
  start=$(date +%s.%N)
  (cd "$dir" && exec setsid "$@" >"$work/$name.log" 2>&1) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sid=$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
    if [ -n "$sid" ]; then
      rss=$(ps -e -o sid=,rss= | awk -v s="$sid" '$1 == s { t += $2 } END { print t + 0 }')
      if [ "$rss" -gt "$peak" ]; then peak=$rss; fi
    fi
    sleep 0.05
  done
  if ! wait "$pid"; then
    echo "bench-hls: $name failed:" >&2
    tail -20 "$work/$name.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  local file
  file=$(cd "$dir" && ls -d $output 2>/dev/null | head -1)
  if [ -z "$file" ]; then
    echo "bench-hls: $name left no $output" >&2
    exit 1
  fi
  local dur
  dur=$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$dir/$file")
  echo "$name $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') $peak $dur $(stat -c %s "$dir/$file")" >>"$results"
}

echo "bench-hls: $segments segments, $((bytes / 1024)) KiB in all, served at $rate/s per connection" >&2
measure crawl "out/index.ts" "$work/crawl" get "$url" --out out --quiet
measure crawl-split8 "out/index.ts" "$work/crawl" get "$url" --out out --quiet --split 8
measure crawl-remux "out/index.mp4" "$work/crawl" get "$url" --out out --quiet --remux mp4
measure ffmpeg "out.ts" ffmpeg -nostdin -hide_banner -loglevel error -i "$url" -c copy out.ts
measure yt-dlp "*.mp4" yt-dlp --no-progress -q "$url"

ffwall=$(awk '$1 == "ffmpeg" { print $2 }' "$results")
ffrss=$(awk '$1 == "ffmpeg" { print $3 }' "$results")
printf '\n%-28s %9s %8s %11s %8s %10s %10s\n' "tool" "wall (s)" "× ffmpeg" "peak RSS" "× ffmpeg" "duration" "bytes"
while read -r name wall rss dur size; do
  case $name in
  crawl) what="crawl get" ;;
  crawl-split8) what="crawl get --split 8" ;;
  crawl-remux) what="crawl get --remux mp4" ;;
  ffmpeg) what="ffmpeg -i URL -c copy" ;;
  yt-dlp) what="yt-dlp $(yt-dlp --version)" ;;
  esac
  awk -v w="$what" -v wall="$wall" -v fw="$ffwall" -v rss="$rss" -v fr="$ffrss" -v d="$dur" -v b="$size" \
    'BEGIN { printf "%-28s %9.2f %8.2f %8.1f MB %8.2f %9.2fs %10s\n", w, wall, wall / fw, rss / 1024, rss / fr, d, b }' 
done <"$results"
