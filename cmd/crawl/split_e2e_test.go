package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
)

// The tests in this file cover the names whose extension comes from the
// response (its Content-Type, else its first bytes) and --split, against
// the fault-injecting server.

// withHead returns n bytes that start with head and go on with bytes that
// depend only on seed.
func withHead(head, seed string, n int) []byte {
	b := fault.Bytes(seed, n)
	copy(b, head)
	return b
}

// Bodies whose first bytes are those of a format.
var (
	pngHead  = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	gifHead  = "GIF89a\x10\x00\x10\x00"
	jpegHead = "\xff\xd8\xff\xe0\x00\x10JFIF\x00"
	webpHead = "RIFF\x00\x10\x00\x00WEBPVP8 "
	avifHead = "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
	movHead  = "\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "
	mkvHead  = "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska"
	mp4Head  = "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
)

// TestGetExtFromResponse: a CSV names files after a column, at URLs with
// no extension; the extension comes from the Content-Type, else from the
// first bytes. The same holds for {name}{ext} of URLs on the command line.
// A URL that fails before its answer came keeps its name for the retry
// from failed.csv.
func TestGetExtFromResponse(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	type file struct {
		name, ctype string
		body        []byte
		want        string // the file's name on disk
	}
	csvFiles := []file{
		{"张三", "image/jpeg", withHead(jpegHead, "a", 30000), "张三.jpg"},
		{"李四", "image/png", withHead(pngHead, "b", 30000), "李四.png"},
		{"clip", "video/quicktime", withHead(movHead, "c", 30000), "clip.mov"},
		{"movie", "video/mp4; codecs=avc1", withHead(mp4Head, "d", 30000), "movie.mp4"},
		{"doc", "application/pdf", withHead("%PDF-1.7\n", "e", 30000), "doc.pdf"},
		{"photo.jpeg", "image/jpeg", withHead(jpegHead, "f", 30000), "photo.jpeg"}, // not photo.jpeg.jpg
		{"photo2.jpg", "image/jpeg", withHead(jpegHead, "g", 30000), "photo2.jpg"},
		// Sniffed: no Content-Type worth the name.
		{"sniff-png", "application/octet-stream", withHead(pngHead, "h", 30000), "sniff-png.png"},
		{"sniff-webp", "", withHead(webpHead, "i", 30000), "sniff-webp.webp"},
		{"sniff-avif", "binary/octet-stream", withHead(avifHead, "j", 30000), "sniff-avif.avif"},
		{"sniff-mkv", "application/octet-stream", withHead(mkvHead, "k", 30000), "sniff-mkv.mkv"},
		{"sniff-mov", "text/plain", withHead(movHead, "l", 30000), "sniff-mov.mov"},
		{"unknown", "application/octet-stream", fault.Bytes("m", 30000), "unknown"},
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var csv strings.Builder
	want := map[string]string{}
	for i, f := range csvFiles {
		p := "/csv/" + strconv.Itoa(1000+i)
		s.File(p, fault.File{Body: f.body, ContentType: f.ctype, ETag: `"x"`})
		csv.WriteString(strconv.Itoa(i+1) + "," + f.name + "," + s.URL(p) + "\r\n")
		want[f.want] = hexSum(f.body)
	}
	// Fails at first (404), then is mended: its name must not be lost.
	late := withHead(gifHead, "late", 20000)
	s.File("/csv/late", fault.File{Body: late, ContentType: "image/gif",
		Faults: []fault.Fault{{Kind: fault.Status, Status: http.StatusNotFound}}})
	csv.WriteString("99,迟到," + s.URL("/csv/late") + "\r\n")
	writeFile(t, dir, "in.csv", []byte(csv.String()))

	r := runCrawl(t, dir, "", "get", "--csv", "in.csv", "--url-col", "3", "--name-col", "2", "--out", out, "--quiet",
		"--retry-wait", "1ms")
	mustCode(t, r, 1)
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	checkFailedCSV(t, out, s.URL("/csv/late"))
	if m := manifest(t, out); m["张三.jpg"] == nil || m["张三.jpg"][4] != "image/jpeg" {
		t.Errorf("manifest row of 张三.jpg: %v", m["张三.jpg"])
	}

	r = runCrawl(t, dir, "", "get", "--csv", filepath.Join(out, "failed.csv"), "--out", out, "--quiet")
	mustCode(t, r, 0)
	want["迟到.gif"] = hexSum(late)
	checkFiles(t, out, want)
	checkManifest(t, out, want)

	// {name}{ext} of extensionless URLs given on the command line.
	s.File("/v/clip", fault.File{Body: withHead(mkvHead, "n", 40000), ContentType: "video/webm"})
	s.File("/raw/blob", fault.File{Body: withHead(gifHead, "o", 40000)})
	s.File("/raw/song", fault.File{Body: withHead("ID3\x04\x00", "p", 40000), ContentType: "audio/mpeg"})
	s.File("/raw/x.php", fault.File{Body: withHead(pngHead, "q", 40000), ContentType: "image/png"})
	out2 := filepath.Join(dir, "out2")
	r = runCrawl(t, dir, "", "get", "--out", out2, "--quiet",
		s.URL("/v/clip"), s.URL("/raw/blob"), s.URL("/raw/song"), s.URL("/raw/x.php"))
	mustCode(t, r, 0)
	checkFiles(t, out2, map[string]string{
		"clip.webm": hexSum(withHead(mkvHead, "n", 40000)), // the header wins over the bytes
		"blob.gif":  hexSum(withHead(gifHead, "o", 40000)),
		"song.mp3":  hexSum(withHead("ID3\x04\x00", "p", 40000)),
		"x.php":     hexSum(withHead(pngHead, "q", 40000)), // the URL's extension, as it always was
	})

	// A template without {ext} gets none.
	out3 := filepath.Join(dir, "out3")
	r = runCrawl(t, dir, "", "get", "--out", out3, "--quiet", "--name", "{host}-{name}", s.URL("/raw/blob"))
	mustCode(t, r, 0)
	checkFiles(t, out3, map[string]string{"127.0.0.1-blob": hexSum(withHead(gifHead, "o", 40000))})
}

// TestGetExtResumeAfterKill: a large file at a URL with no extension, named
// from its Content-Type, is killed (kill -9) half way; the next run finds
// the same name and its .part, and resumes it with a range.
func TestGetExtResumeAfterKill(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const size = 4 << 20
	body := withHead(jpegHead, "big", size)
	s.File("/csv/ab12cd", fault.File{Body: body, ContentType: "image/jpeg", ETag: `"big"`, Rate: 1 << 20})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	writeFile(t, dir, "in.csv", []byte("1,大图,"+s.URL("/csv/ab12cd")+"\n"))
	args := []string{"get", "--csv", "in.csv", "--url-col", "3", "--name-col", "2", "--out", out, "--quiet"}

	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool { return partSize(out, "大图.jpg") > 1200<<10 })
	run.killGroup()
	held := partSize(out, "大图.jpg")
	if f := finalFiles(t, out); len(f) != 0 {
		t.Fatalf("files in place before they were whole: %v", f)
	}

	s.File("/csv/ab12cd", fault.File{Body: body, ContentType: "image/jpeg", ETag: `"big"`})
	n := s.Count("/csv/ab12cd")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"大图.jpg": hexSum(body)})
	reqs := since(s, "/csv/ab12cd", n)
	if len(reqs) != 1 || reqs[0].IfRange != `"big"` || !strings.HasPrefix(reqs[0].Range, "bytes=") ||
		reqs[0].Status != http.StatusPartialContent || reqs[0].Sent > size-held+(256<<10) {
		t.Errorf("not resumed from the %d bytes held: %+v", held, reqs)
	}
}

// segmentsDone reads the bytes done in a segmented part's sidecar (-1 if
// there is none, or it does not describe segments).
func segmentsDone(out, rel string) (done int64, segs int) {
	b, err := os.ReadFile(filepath.Join(out, rel+".part.meta"))
	if err != nil || !bytes.HasPrefix(b, []byte("crawl-segments")) {
		return -1, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "seg" {
			d, _ := strconv.ParseInt(f[3], 10, 64)
			done += d
			segs++
		}
	}
	return done, segs
}

// sentTo sums the body bytes sent for requests.
func sentTo(reqs []fault.Request) int64 {
	var n int64
	for _, r := range reqs {
		n += r.Sent
	}
	return n
}

// TestSplitKillResume: --split 4 on a 64 MiB file fetches it over four
// connections, in pieces with ranges (never more than --per-host at once),
// is killed with kill -9 half way, and the next run fetches only what is
// missing, each piece from where its saved progress says; the file is
// whole and its SHA-256 right.
func TestSplitKillResume(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const size = 64 << 20
	body := fault.Bytes("split-big", size)
	s.File("/big.mp4", fault.File{Body: body, ContentType: "video/mp4", ETag: `"v1"`, Rate: 5 << 20})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--split", "4", "--per-host", "4", "--out", out, "--progress", s.URL("/big.mp4")}

	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool {
		done, _ := segmentsDone(out, "big.mp4")
		return done > 16<<20
	})
	run.killGroup()
	if f := finalFiles(t, out); len(f) != 0 {
		t.Fatalf("files in place before they were whole: %v", f)
	}
	saved, segs := segmentsDone(out, "big.mp4")
	if segs != 16 {
		t.Fatalf("%d pieces, want 16 of 4 MiB", segs)
	}
	first := s.Requests("/big.mp4")
	if len(first) < 4 || first[0].Range != "bytes=0-" {
		t.Fatalf("run 1: %d requests, the first with Range %q; want 4 or more, from bytes=0-", len(first), first[0].Range)
	}
	for _, r := range first[1:] {
		if !strings.HasPrefix(r.Range, "bytes=") || strings.HasSuffix(r.Range, "-") || r.IfRange != `"v1"` {
			t.Errorf("run 1: segment request with Range %q If-Range %q", r.Range, r.IfRange)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "big.mp4.part")); err != nil || st.Size() != size {
		t.Errorf("the part is not laid out at the file's size: %v %v", st, err)
	}
	if !strings.Contains(run.stderr.String(), "ETA") {
		t.Errorf("no ETA on the progress bar:\n%q", run.stderr.String())
	}

	// Run 2, faster: only what the sidecar does not hold is fetched.
	s.File("/big.mp4", fault.File{Body: body, ContentType: "video/mp4", ETag: `"v1"`, Rate: 40 << 20})
	n := len(first)
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"big.mp4": hexSum(body)})
	checkManifest(t, out, map[string]string{"big.mp4": hexSum(body)})
	second := since(s, "/big.mp4", n)
	if len(second) == 0 || len(second) > 16 {
		t.Fatalf("run 2: %d requests, want 1 to 16", len(second))
	}
	for _, r := range second {
		if r.IfRange != `"v1"` || r.Status != http.StatusPartialContent || strings.HasSuffix(r.Range, "-") {
			t.Errorf("run 2: request %+v; want a closed range checked by If-Range", r)
		}
	}
	if got := sentTo(second); got != size-saved {
		t.Errorf("run 2 fetched %d bytes; the part lacked %d", got, size-saved)
	}
	if p := s.PeakRequestsSeen(s.Host(), 20*time.Millisecond); p > 4 {
		t.Errorf("%d requests at once, --per-host 4", p)
	}
}

// TestSplitFallback: a server that ignores Range, and a file too small to
// split, come in one stream each.
func TestSplitFallback(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	big := fault.Bytes("norange", 24<<20)
	small := fault.Bytes("small", 5<<20)
	s.File("/norange.bin", fault.File{Body: big, ETag: `"n"`, IgnoreRange: true})
	s.File("/small.bin", fault.File{Body: small, ETag: `"s"`})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", "--split", "8", "--per-host", "8", "--out", out, "--quiet",
		s.URL("/norange.bin"), s.URL("/small.bin"))
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"norange.bin": hexSum(big), "small.bin": hexSum(small)})
	for _, p := range []string{"/norange.bin", "/small.bin"} {
		reqs := s.Requests(p)
		if len(reqs) != 1 || reqs[0].Range != "bytes=0-" {
			t.Errorf("%s: %+v; want one request", p, reqs)
		}
	}
	if reqs := s.Requests("/norange.bin"); len(reqs) == 1 && reqs[0].Status != http.StatusOK {
		t.Errorf("norange.bin: status %d", reqs[0].Status)
	}
}

// TestSplitPerHostAndFaults: two large files with --split 8 and
// --per-host 3 never have more than three requests at once on the host; a
// segment cut short, or reset, is taken up again from where it stopped.
func TestSplitPerHostAndFaults(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	a := fault.Bytes("a", 32<<20)
	b := fault.Bytes("b", 40<<20)
	s.File("/a.mkv", fault.File{Body: a, ETag: `"a"`, Rate: 16 << 20,
		Faults: []fault.Fault{{}, {Kind: fault.Truncate, After: 1 << 20}, {}, {Kind: fault.Reset, After: 3 << 20}}})
	s.File("/b.mkv", fault.File{Body: b, LastModified: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Rate: 16 << 20})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", "--split", "8", "--per-host", "3", "--workers", "2", "--out", out, "--quiet",
		"--retry-wait", "20ms", s.URL("/a.mkv"), s.URL("/b.mkv"))
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"a.mkv": hexSum(a), "b.mkv": hexSum(b)})
	// The first request of each file is for the whole file; the client
	// closes it once it has its first segment.
	if p := s.PeakRequestsSeen(s.Host(), 20*time.Millisecond); p > 3 {
		t.Errorf("%d requests at once, --per-host 3", p)
		all := s.All()
		t0 := all[0].Start
		for _, r := range all {
			t.Logf("%s %s: start %v, end %v, client gone %v, sent %d, status %d, fault %v", r.Path, r.Range, r.Start.Sub(t0), r.End.Sub(t0), r.ClientGone, r.Sent, r.Status, r.Fault)
		}
	}
	// a.mkv: the bytes sent in all are the file and what the faults cut
	// off mid-way (at most one buffer each) and nothing more.
	if sent := sentTo(s.Requests("/a.mkv")); sent < int64(len(a)) || sent > int64(len(a))+(4<<20) {
		t.Errorf("a.mkv: %d bytes sent for a %d-byte file: %+v", sent, len(a), s.Requests("/a.mkv"))
	}
	for _, p := range []string{"/a.mkv", "/b.mkv"} {
		if n := s.Count(p); n < 3 {
			t.Errorf("%s: %d requests; not split", p, n)
		}
	}
}

// Kill a split download's stage only (not crawl): the supervisor starts it
// again, and it resumes its segments in the same run.
func TestSplitStageKilled(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	body := fault.Bytes("stage", 32<<20)
	s.File("/s.bin", fault.File{Body: body, ETag: `"s"`, Rate: 4 << 20})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	run := startCrawl(t, dir, "get", "--split", "4", "--out", out, "--quiet", s.URL("/s.bin"))
	waitFor(t, 60*time.Second, func() bool {
		done, _ := segmentsDone(out, "s.bin")
		return done > 8<<20
	})
	if pid := stagePID(run.cmd.Process.Pid, "download"); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	} else {
		t.Fatal("no download stage found")
	}
	s.File("/s.bin", fault.File{Body: body, ETag: `"s"`})
	if code := run.code(); code != 0 {
		t.Fatalf("exit %d\n%s", code, run.stderr)
	}
	checkFiles(t, out, map[string]string{"s.bin": hexSum(body)})
	if sent := sentTo(s.Requests("/s.bin")); sent > int64(len(body))+(12<<20) {
		t.Errorf("%d bytes sent for a %d-byte file: not resumed", sent, len(body))
	}
}

// TestSplitChangedBetweenRuns: a split download killed half way whose file
// changes on the server before the next run starts over (If-Range fails):
// the file on disk is all of the new version, never a mix.
func TestSplitChangedBetweenRuns(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	v1 := fault.Bytes("v1", 24<<20)
	v2 := fault.Bytes("v2", 24<<20)
	s.File("/c.bin", fault.File{Body: v1, ETag: `"1"`, Rate: 3 << 20})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--split", "4", "--out", out, "--quiet", s.URL("/c.bin")}
	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool {
		done, _ := segmentsDone(out, "c.bin")
		return done > 4<<20
	})
	run.killGroup()

	s.File("/c.bin", fault.File{Body: v2, ETag: `"2"`})
	n := s.Count("/c.bin")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"c.bin": hexSum(v2)})
	reqs := since(s, "/c.bin", n)
	if len(reqs) == 0 || reqs[0].IfRange != `"1"` || reqs[0].Status != http.StatusOK {
		t.Errorf("run 2 did not ask for the old version's pieces first: %+v", reqs)
	}
}
