package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
)

// The tests in this file run crawl against servers that lie or misbehave
// on purpose (the fault server), and check what is on disk, the manifest,
// the exit code and what the server saw.

// TestHostileContentEncoding: a file sent gzip-, deflate- or br-encoded
// without being asked is saved decoded, its manifest row the decoded
// file's; a .tar.gz served as application/gzip with Content-Encoding gzip
// is saved as the .gz it is; an encoded file broken off is fetched again
// whole (a range of an encoded body cannot be decoded), and with --split
// it comes in one request; a small gzip that inflates past --max-size is
// refused with its reason, nothing of it kept.
func TestHostileContentEncoding(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	img := fault.Bytes("img", 300<<10)
	big := bytes.Repeat(fault.Bytes("big", 16<<10), 600) // over 8 MiB: --split would cut it in pieces
	tgz := fault.Encode("gzip", fault.Bytes("tar", 200<<10))
	type served struct {
		path   string
		file   fault.File
		onDisk []byte
	}
	encoded := func(coding, header string, body []byte, faults ...fault.Fault) fault.File {
		return fault.File{Body: fault.Encode(coding, body), ContentType: "image/jpeg",
			ContentEncoding: header, ETag: `"` + coding + `"`, Faults: faults}
	}
	cases := []served{
		{"/gzip.jpg", encoded("gzip", "gzip", img), img},
		{"/zlib.jpg", encoded("deflate", "deflate", img), img},
		{"/raw.jpg", encoded("deflate-raw", "deflate", img), img},
		{"/br.jpg", encoded("br", "br", img), img},
		{"/cut.jpg", encoded("gzip", "gzip", img, fault.Fault{Kind: fault.Truncate, After: 100 << 10}), img},
		{"/big.jpg", encoded("gzip", "gzip", big), big},
		{"/src.tar.gz", fault.File{Body: tgz, ContentType: "application/gzip", ContentEncoding: "gzip", ETag: `"t"`}, tgz},
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--out", out, "--quiet", "--retry-wait", "10ms", "--split", "4"}
	want := map[string]string{}
	for _, c := range cases {
		s.File(c.path, c.file)
		args = append(args, s.URL(c.path))
		want[strings.TrimPrefix(c.path, "/")] = hexSum(c.onDisk)
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	m := manifest(t, out)
	for _, c := range cases {
		name := strings.TrimPrefix(c.path, "/")
		if row := m[name]; row != nil && row[2] != strconv.Itoa(len(c.onDisk)) {
			t.Errorf("%s: manifest says %s bytes, the file has %d", name, row[2], len(c.onDisk))
		}
	}
	// The first request of each asks for the whole file as a range
	// (--split); an encoded answer is taken whole, never in pieces, and a
	// broken one is asked for again from its start, without If-Range.
	if n := s.Count("/big.jpg"); n != 1 {
		t.Errorf("big.jpg, encoded: %d requests, want 1 (no pieces)", n)
	}
	cut := cases[4].file.Body
	if reqs := s.Requests("/cut.jpg"); len(reqs) != 2 || reqs[1].IfRange != "" || reqs[1].Sent != int64(len(cut)) {
		t.Errorf("cut.jpg: requests %+v, want a second one for the whole file", reqs)
	}

	// A bomb: 64 MiB of zeros in a few hundred KB of gzip, over --max-size.
	s.File("/bomb.jpg", fault.File{Body: fault.GzipBomb(64 << 20), ContentType: "image/jpeg", ContentEncoding: "gzip"})
	out = filepath.Join(dir, "bomb")
	r = runCrawl(t, dir, "", "get", "--out", out, "--quiet", "--max-size", "10MB", s.URL("/bomb.jpg"))
	mustCode(t, r, 0)
	if want := "skipped " + s.URL("/bomb.jpg"); !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "larger than --max-size") {
		t.Errorf("the summary does not say the bomb was refused as larger than --max-size:\n%s", r.stderr)
	}
	if got := downloaded(t, out); len(got) != 0 {
		t.Errorf("files left of the bomb: %v", got)
	}
	if n := s.Count("/bomb.jpg"); n != 1 {
		t.Errorf("bomb asked for %d times, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.csv")); err == nil {
		if rows := manifest(t, out); len(rows) != 0 {
			t.Errorf("manifest lists the bomb: %v", rows)
		}
	}
}

// TestHostileLyingLength: a server that claims 30 MB, sends a few bytes
// and then goes silent gets no 30 MB of disk: the .part holds at most a
// step (8 MiB) of room ahead of what came, and the same for a --split
// download laid out in pieces.
func TestHostileLyingLength(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const claimed = 30 << 20
	stall := &fault.Fault{Kind: fault.Stall, After: 1000} // every answer, every piece
	s.File("/lie.mp4", fault.File{Body: fault.Bytes("lie", claimed), ContentType: "video/mp4", ETag: `"l"`, Always: stall})
	for _, split := range []string{"1", "4"} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		c := startCrawl(t, dir, "get", "--out", out, "--quiet", "--timeout", "60s", "--split", split, s.URL("/lie.mp4"))
		part := filepath.Join(out, "lie.mp4.part")
		waitFor(t, 30*time.Second, func() bool {
			size, room := sizeAndRoom(part)
			return min(size, room) >= 1000
		})
		if _, room := sizeAndRoom(part); room > 9<<20 {
			t.Errorf("--split %s: %d MiB of disk for a body of 1000 bytes so far", split, room>>20)
		}
		c.killGroup()
	}
}

// sizeAndRoom is the size of the file at path and the disk room its
// blocks take (st_blocks); -1, -1 if there is none. A part written from
// its start holds min of the two written; so does a sparse part laid out
// in pieces (its size is the file's at once).
func sizeAndRoom(path string) (size, room int64) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return -1, -1
	}
	return st.Size, st.Blocks * 512
}

// TestHostileManyHosts: a list of 2000 files on 2000 hosts, fetched with
// at most 256 files open per process (prlimit), all comes down: the files
// held open for the per-host limits are those of the requests in flight,
// not one per host met.
func TestHostileManyHosts(t *testing.T) {
	t.Parallel()
	const hosts = 2000
	s := newFaultServer(t)
	bases, err := s.MoreHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var list strings.Builder
	want := map[string]string{}
	for i, base := range bases {
		name := strconv.Itoa(i) + ".jpg"
		body := fault.Bytes(name, 1000)
		s.File("/"+name, fault.File{Body: body, ContentType: "image/jpeg"})
		list.WriteString(base + "/" + name + "\n")
		want[name] = hexSum(body)
	}
	cmd := crawlCmd(t, dir, "get", "--out", out, "--quiet", "--list", "-", "--workers", "16", "--retries", "0")
	cmd.Args = append([]string{"prlimit", "--nofile=256:256", "--"}, cmd.Args...)
	cmd.Path, err = exec.LookPath("prlimit")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(list.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("crawl: %v\n%s", err, tail(stderr.String(), 2000))
	}
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	if n := len(s.All()); n < hosts {
		t.Errorf("the server saw %d requests for %d files", n, hosts)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string { return s[max(len(s)-n, 0):] }
