package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
)

// hlsSegment is an MPEG-TS-shaped segment of n packets of 188 bytes.
func hlsSegment(seed string, n int) []byte {
	b := fault.Bytes(seed, n*188)
	for i := 0; i < len(b); i += 188 {
		b[i] = 0x47
	}
	return b
}

// serveHLS serves a media playlist at /v/index.m3u8 of n segments of
// packets packets each, encrypted with AES-128 (the IV their sequence
// number), and returns the bytes the saved stream must hold.
func serveHLS(s *fault.Server, n, packets int, rate int) []byte {
	return serveHLSAt(s, "/v", n, packets, rate)
}

// serveHLSAt is serveHLS under the folder dir: dir/index.m3u8.
func serveHLSAt(s *fault.Server, dir string, n, packets int, rate int) []byte {
	key := fault.Bytes("key"+dir, 16)
	s.File(dir+"/key.bin", fault.File{Body: key})
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n")
	var plain [][]byte
	for i := range n {
		seg := hlsSegment(fmt.Sprintf("%s/seg%d", dir, i), packets)
		plain = append(plain, seg)
		pad := 16 - len(seg)%16
		enc := append(append([]byte{}, seg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		iv := make([]byte, 16)
		iv[15] = byte(i)
		block, _ := aes.NewCipher(key)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, enc)
		s.File(fmt.Sprintf("%s/s%d.ts", dir, i), fault.File{Body: enc, ContentType: "video/mp2t", Rate: rate})
		fmt.Fprintf(&pl, "#EXTINF:4,\ns%d.ts\n", i)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	s.File(dir+"/index.m3u8", fault.File{Body: []byte(pl.String()), ContentType: "application/vnd.apple.mpegurl"})
	return bytes.Join(plain, nil)
}

// TestGetHLS: crawl get of an .m3u8 URL saves one .ts holding the
// decrypted segments in order, listed in the manifest under the playlist's
// URL.
func TestGetHLS(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	want := serveHLS(s, 7, 50, 0)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	url := s.URL("/v/index.m3u8")
	r := runCrawl(t, dir, "", "get", url, "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 1 || got["index.ts"] != hexSum(want) {
		t.Fatalf("files %v, want index.ts %s\nstderr:\n%s", got, hexSum(want), r.stderr)
	}
	checkManifest(t, out, got)
	if row := manifest(t, out)["index.ts"]; row[0] != url || row[2] != strconv.Itoa(len(want)) || row[4] != "video/mp2t" {
		t.Errorf("manifest row %v", row)
	}
	if n := s.Count("/v/key.bin"); n != 1 {
		t.Errorf("key fetched %d times", n)
	}
}

// TestGetHLSKilledResumes: a stream killed with SIGKILL mid-way resumes
// in the next run after its last whole segment: no segment the part held
// whole is fetched again, and the file is the stream.
func TestGetHLSKilledResumes(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const n = 12
	want := serveHLS(s, n, 2000, 1<<20) // 376,000 bytes a segment, at 1 MiB/s each
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	url := s.URL("/v/index.m3u8")
	args := []string{"get", url, "--out", out, "--quiet", "--per-host", "2", "--retry-wait", "20ms"}

	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool { return partSize(out, "index.ts") >= 1500<<10 })
	run.killGroup()
	meta, err := os.ReadFile(filepath.Join(out, "index.ts.part.meta"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(meta))
	if len(f) != 5 {
		t.Fatalf("sidecar %q", meta)
	}
	whole, _ := strconv.Atoi(f[2])
	if whole < 1 || whole >= n {
		t.Fatalf("sidecar says %d whole segments", whole)
	}
	before := make([]int, n)
	for i := range n {
		before[i] = s.Count(fmt.Sprintf("/v/s%d.ts", i))
	}
	serveHLS(s, n, 2000, 0) // the same stream, at full speed

	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 1 || got["index.ts"] != hexSum(want) {
		t.Fatalf("files %v, want index.ts %s\nstderr:\n%s", got, hexSum(want), r.stderr)
	}
	checkManifest(t, out, got)
	for i := range n {
		again := len(since(s, fmt.Sprintf("/v/s%d.ts", i), before[i]))
		switch {
		case i < whole && again != 0:
			t.Errorf("segment %d, whole in the part, fetched %d times again", i, again)
		case i >= whole && before[i]+again == 0:
			t.Errorf("segment %d never fetched", i)
		}
	}
}

// encodeHLS has ffmpeg encode a few seconds of a lavfi source (testsrc,
// sine...) into an HLS stream of one-second MPEG-TS segments under dir
// (index.m3u8, s0.ts…), with the encoder flags codec.
func encodeHLS(t *testing.T, dir, source string, codec ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", source}, codec...)
	args = append(args, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(dir, "s%d.ts"), filepath.Join(dir, "index.m3u8"))
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// videoCodec encodes a small H.264 video with a key frame every second.
var videoCodec = []string{"-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10"}

// probe is what ffprobe says of a media file: its container's format
// names, its duration in seconds, and the types of its streams in order
// (each once: MPEG-TS lists its streams again under its program).
type probe struct {
	format   string
	duration float64
	streams  []string
}

func ffprobe(t *testing.T, file string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_type",
		"-of", "default=noprint_wrappers=1", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p probe
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "format_name":
			p.format = v
		case "duration":
			p.duration, _ = strconv.ParseFloat(v, 64)
		case "codec_type":
			if !slices.Contains(p.streams, v) {
				p.streams = append(p.streams, v)
			}
		}
	}
	return p
}

// segmentHits is how many times the server was asked for .ts segments.
func segmentHits(c *counter) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, h := range c.hits {
		if strings.HasSuffix(p, ".ts") {
			n += h
		}
	}
	return n
}

// TestGetHLSRemuxMP4: a stream that ffmpeg encoded, fetched with --remux
// mp4, is an .mp4 of the stream's duration, recorded in the manifest under
// the playlist's URL with the .mp4's size and SHA-256; no .ts and no part
// is left. A rerun finds it done and fetches nothing.
func TestGetHLSRemuxMP4(t *testing.T) {
	t.Parallel()
	web := t.TempDir()
	encodeHLS(t, filepath.Join(web, "v"), "testsrc=duration=4:size=160x120:rate=10", videoCodec...)
	srv, cnt := serve(t, http.FileServer(http.Dir(web)))
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	url := srv.URL + "/v/index.m3u8"
	args := []string{"get", url, "--remux", "mp4", "--out", out, "--quiet"}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 1 || got["index.mp4"] == "" {
		t.Fatalf("files %v, want index.mp4 alone\nstderr:\n%s", got, r.stderr)
	}
	checkManifest(t, out, got)
	if row := manifest(t, out)["index.mp4"]; row[0] != url || row[4] != "video/mp4" {
		t.Errorf("manifest row %v", row)
	}
	p := ffprobe(t, filepath.Join(out, "index.mp4"))
	if !strings.Contains(p.format, "mp4") || p.duration < 3.5 || p.duration > 4.5 || fmt.Sprint(p.streams) != "[video]" {
		t.Errorf("ffprobe: %+v, want mp4 of 4 s with one video stream", p)
	}
	fetched := segmentHits(cnt)
	r = runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	if n := segmentHits(cnt); n != fetched {
		t.Errorf("the rerun fetched %d segments", n-fetched)
	}
	if !strings.Contains(r.stderr, "1 skipped") {
		t.Errorf("rerun summary: %s", r.stderr)
	}
	if again := files(t, out); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("after the rerun: %v", again)
	}
}

// TestGetHLSRemuxResumes: a run killed while ffmpeg remuxes (the stream
// whole in its part) finishes the .mp4 in the next run without fetching a
// segment again. (Not parallel: it puts its ffmpeg first on PATH.)
func TestGetHLSRemuxResumes(t *testing.T) {
	web := t.TempDir()
	// Big enough (over 1 MiB) that the part's mark is kept on disk as it
	// grows.
	encodeHLS(t, filepath.Join(web, "v"), "testsrc=duration=4:size=320x240:rate=25",
		append([]string{"-vf", "noise=alls=40:allf=t"}, videoCodec...)...)
	srv, cnt := serve(t, http.FileServer(http.Dir(web)))
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// An ffmpeg that says it started, then hangs.
	bin := filepath.Join(dir, "bin")
	started := filepath.Join(dir, "started")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ntouch " + started + "\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(bin, "ffmpeg"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"get", srv.URL + "/v/index.m3u8", "--remux", "mp4", "--out", out, "--quiet"}
	path := os.Getenv("PATH")
	t.Setenv("PATH", bin+":"+path)
	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool { _, err := os.Stat(started); return err == nil })
	run.killGroup()
	t.Setenv("PATH", path)
	fetched := segmentHits(cnt)

	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	if n := segmentHits(cnt); n != fetched {
		t.Errorf("the rerun fetched %d segments again", n-fetched)
	}
	got := files(t, out)
	if len(got) != 1 || got["index.mp4"] == "" {
		t.Fatalf("files %v, want index.mp4 alone\nstderr:\n%s", got, r.stderr)
	}
	checkManifest(t, out, got)
	if p := ffprobe(t, filepath.Join(out, "index.mp4")); !strings.Contains(p.format, "mp4") || p.duration < 3.5 || p.duration > 4.5 {
		t.Errorf("ffprobe: %+v", p)
	}
}

// TestGetHLSRemuxFails: when ffmpeg cannot remux the stream, it is kept
// as .ts, and the log says why.
func TestGetHLSRemuxFails(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	want := serveHLS(s, 3, 20, 0) // random bytes in TS packets: no video ffmpeg can read
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", s.URL("/v/index.m3u8"), "--remux", "mp4", "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 1 || got["index.ts"] != hexSum(want) {
		t.Fatalf("files %v, want index.ts %s\nstderr:\n%s", got, hexSum(want), r.stderr)
	}
	checkManifest(t, out, got)
	if !strings.Contains(r.stderr, "remux into .mp4 failed") {
		t.Errorf("stderr does not say the remux failed:\n%s", r.stderr)
	}
}

// TestRemuxUsage: --remux mp4 without ffmpeg on PATH, from the command
// line or a site profile, and any other --remux, are usage errors (exit
// 2, one line, nothing fetched).
func TestRemuxUsage(t *testing.T) {
	t.Parallel()
	srv, cnt := serve(t, http.NotFoundHandler())
	noFFmpeg := []string{"PATH=" + t.TempDir()}
	url := srv.URL + "/v/index.m3u8"
	site := []string{"--list-url", srv.URL + "/list/{page}.html", "--pages", "1", "--images", "//video/source/@src"}
	for _, c := range []struct {
		name, profile string
		env, args     []string
		says          string
	}{
		{"no ffmpeg", "", noFFmpeg, []string{"get", url, "--remux", "mp4"}, "--remux mp4 needs ffmpeg"},
		{"no ffmpeg, profile", "remux: mp4\nvariant: 720\n", noFFmpeg, site, "--remux mp4 needs ffmpeg"},
		{"other format", "", nil, []string{"get", url, "--remux", "mkv"}, `--remux "mkv"`},
		{"bad variant in profile", "variant: tall\n", nil, site, `--variant "tall"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.profile != "" {
				if err := os.WriteFile(filepath.Join(dir, "crawl.yaml"), []byte(c.profile), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, "out")
			r := runCrawlEnv(t, dir, c.env, append(c.args, "--out", out, "--quiet")...)
			mustCode(t, r, 2)
			if !strings.Contains(r.stderr, c.says) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("stderr %q, want one line saying %s", r.stderr, c.says)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was made", out)
			}
		})
	}
	cnt.mu.Lock()
	defer cnt.mu.Unlock()
	if len(cnt.hits) != 0 {
		t.Errorf("requests made: %v", cnt.hits)
	}
}

// TestCrawlHLSTitles: a site crawl whose detail pages each hold a <video>
// with an HLS <source> saves each page's stream as {title}.ts, the
// decrypted segments in order, recorded under the playlist's URL with the
// page as its source.
func TestCrawlHLSTitles(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	titles := []string{"First clip", "第二段"}
	want := map[string]string{}
	var links strings.Builder
	for i, title := range titles {
		dir := fmt.Sprintf("/media/%d", i+1)
		want[title+".ts"] = hexSum(serveHLSAt(s, dir, 3+i, 40, 0))
		page := fmt.Sprintf(`<html><head><title>%s</title></head><body>
<video controls><source src="%s/index.m3u8" type="application/x-mpegURL"></video></body></html>`, title, dir)
		s.File(fmt.Sprintf("/watch/%d.html", i+1), fault.File{Body: []byte(page), ContentType: "text/html; charset=utf-8"})
		fmt.Fprintf(&links, `<div class="post"><a href="/watch/%d.html">%d</a></div>`, i+1, i+1)
	}
	s.File("/list/1.html", fault.File{Body: []byte("<html><body>" + links.String() + "</body></html>"), ContentType: "text/html"})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "--list-url", s.URL("/list/{page}.html"), "--pages", "1",
		"--links", `//div[@class="post"]/a/@href`, "--images", "//video/source/@src",
		"--name", "{title}{ext}", "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v\nstderr:\n%s", got, want, r.stderr)
	}
	checkManifest(t, out, got)
	rows := manifest(t, out)
	for i, title := range titles {
		row := rows[title+".ts"]
		if row[0] != s.URL(fmt.Sprintf("/media/%d/index.m3u8", i+1)) || row[5] != s.URL(fmt.Sprintf("/watch/%d.html", i+1)) {
			t.Errorf("manifest row %v", row)
		}
	}
}

// TestGetHLSSeparateAudio: a variant whose audio is a rendition of its
// own is saved with that audio joined by ffmpeg: as .ts, or as .mp4 with
// --remux mp4; the audio's part does not outlive the run. Without ffmpeg
// the stream fails with a reason that says audio needs it, before any
// segment is fetched.
func TestGetHLSSeparateAudio(t *testing.T) {
	t.Parallel()
	web := t.TempDir()
	encodeHLS(t, filepath.Join(web, "v"), "testsrc=duration=4:size=160x120:rate=10", videoCodec...)
	encodeHLS(t, filepath.Join(web, "a"), "sine=frequency=440:duration=4", "-c:a", "aac", "-b:a", "64k")
	master := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="other",URI="nowhere/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,URI="a/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120,AUDIO="aud"
v/index.m3u8
`
	if err := os.WriteFile(filepath.Join(web, "master.m3u8"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, cnt := serve(t, http.FileServer(http.Dir(web)))
	url := srv.URL + "/master.m3u8"
	for _, c := range []struct {
		name, file, format string
		args               []string
	}{
		{"ts", "master.ts", "mpegts", nil},
		{"remux", "master.mp4", "mp4", []string{"--remux", "mp4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			r := runCrawl(t, dir, "", append([]string{"get", url, "--out", out, "--quiet"}, c.args...)...)
			mustCode(t, r, 0)
			got := files(t, out)
			if len(got) != 1 || got[c.file] == "" {
				t.Fatalf("files %v, want %s\nstderr:\n%s", got, c.file, r.stderr)
			}
			checkManifest(t, out, got)
			p := ffprobe(t, filepath.Join(out, c.file))
			if !strings.Contains(p.format, c.format) || p.duration < 3.5 || p.duration > 4.5 || fmt.Sprint(p.streams) != "[video audio]" {
				t.Errorf("ffprobe: %+v, want %s of 4 s with video and audio", p, c.format)
			}
			if left, _ := filepath.Glob(filepath.Join(out, ".crawl", "hls", "*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	if n := cnt.Hits("/nowhere/index.m3u8"); n != 0 {
		t.Errorf("the audio that is not the default was fetched %d times", n)
	}

	fetched := segmentHits(cnt)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawlEnv(t, dir, []string{"PATH=" + t.TempDir()}, "get", url, "--out", out, "--quiet")
	mustCode(t, r, 1)
	if !strings.Contains(r.stderr, "audio") || !strings.Contains(r.stderr, "needs ffmpeg") {
		t.Errorf("the failure does not say audio needs ffmpeg:\n%s", r.stderr)
	}
	if n := segmentHits(cnt); n != fetched {
		t.Errorf("%d segments fetched without ffmpeg", n-fetched)
	}
	if got := files(t, out); len(got) != 0 {
		t.Errorf("files %v", got)
	}
}

// TestGetHLSRemuxReadsNoOtherFile: a segment that is itself a playlist
// naming a local file is not followed by the remux: ffmpeg refuses it, the
// stream is kept as .ts as it came, and the file's bytes are nowhere in
// the output.
func TestGetHLSRemuxReadsNoOtherFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	encodeHLS(t, filepath.Join(dir, "local"), "testsrc=duration=1:size=160x120:rate=10", videoCodec...)
	secret := filepath.Join(dir, "local", "s0.ts") // a video ffmpeg would read
	seg := []byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n" + secret + "\n#EXT-X-ENDLIST\n")
	s := newFaultServer(t)
	s.File("/v/s0.ts", fault.File{Body: seg, ContentType: "video/mp2t"})
	s.File("/v/index.m3u8", fault.File{Body: []byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\ns0.ts\n#EXT-X-ENDLIST\n"),
		ContentType: "application/vnd.apple.mpegurl"})
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", s.URL("/v/index.m3u8"), "--remux", "mp4", "--out", out, "--quiet")
	mustCode(t, r, 0)
	if got := files(t, out); len(got) != 1 || got["index.ts"] != hexSum(seg) {
		t.Fatalf("files %v, want index.ts as served\nstderr:\n%s", got, r.stderr)
	}
}
