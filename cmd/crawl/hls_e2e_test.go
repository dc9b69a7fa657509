package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"os"
	"path/filepath"
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
	key := fault.Bytes("key", 16)
	s.File("/v/key.bin", fault.File{Body: key})
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n")
	var plain [][]byte
	for i := range n {
		seg := hlsSegment(fmt.Sprintf("seg%d", i), packets)
		plain = append(plain, seg)
		pad := 16 - len(seg)%16
		enc := append(append([]byte{}, seg...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		iv := make([]byte, 16)
		iv[15] = byte(i)
		block, _ := aes.NewCipher(key)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, enc)
		s.File(fmt.Sprintf("/v/s%d.ts", i), fault.File{Body: enc, ContentType: "video/mp2t", Rate: rate})
		fmt.Fprintf(&pl, "#EXTINF:4,\ns%d.ts\n", i)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	s.File("/v/index.m3u8", fault.File{Body: []byte(pl.String()), ContentType: "application/vnd.apple.mpegurl"})
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
