package pipeline

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fault "crawl/internal/faultserver"
	"crawl/parser"
)

const mpegURL = "application/vnd.apple.mpegurl"

// tsSegment is an MPEG-TS-shaped segment: packets of 188 bytes, each
// starting with the sync byte 0x47, the rest from seed.
func tsSegment(seed string, packets int) []byte {
	b := fault.Bytes(seed, packets*188)
	for i := 0; i < len(b); i += 188 {
		b[i] = 0x47
	}
	return b
}

// seqIV is the IV of a segment whose key gives none: its sequence number.
func seqIV(seq int64) []byte {
	iv := make([]byte, 16)
	binary.BigEndian.PutUint64(iv[8:], uint64(seq))
	return iv
}

// encrypt is AES-128-CBC with PKCS#7 padding, as a packager writes segments.
func encrypt(key, iv, plain []byte) []byte {
	pad := 16 - len(plain)%16
	b := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(b, b)
	return b
}

// serveTS serves n TS segments under dir (seg0.ts…) and returns them.
func serveTS(srv *fault.Server, dir, seed string, n int) [][]byte {
	segs := make([][]byte, n)
	for i := range segs {
		segs[i] = tsSegment(fmt.Sprintf("%s%d", seed, i), 20+i)
		srv.File(fmt.Sprintf("%s/seg%d.ts", dir, i), fault.File{Body: segs[i], ContentType: "video/mp2t"})
	}
	return segs
}

// mediaPlaylist lists n segments seg0.ts… under prefix.
func mediaPlaylist(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n")
	for i := range n {
		fmt.Fprintf(&b, "#EXTINF:4.0,\n%sseg%d.ts\n", prefix, i)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

// TestHLSMediaPlaylist: a media playlist of TS segments is saved as one
// .ts file, named after the playlist and recorded under its URL; a
// segment whose body breaks off is fetched again, the others once.
func TestHLSMediaPlaylist(t *testing.T) {
	for _, perHost := range []int{1, 3} {
		t.Run(fmt.Sprintf("per-host %d", perHost), func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			segs := serveTS(srv, "/v", "plain", 8)
			srv.File("/v/seg2.ts", fault.File{Body: segs[2], Faults: []fault.Fault{{Kind: fault.Truncate, After: 100}}})
			srv.File("/v/index.m3u8", fault.File{Body: []byte(mediaPlaylist("", 8)), ContentType: mpegURL})
			e := newDownloadEnv(t, func(c *Config) { c.PerHost = perHost })
			url := srv.URL("/v/index.m3u8")
			e.get(FileTask{URL: url})
			want := bytes.Join(segs, nil)
			e.wantFiles(map[string][]byte{"index.ts": want})
			e.wantRecord(url, "index.ts", want)
			if f, _ := e.record(url); f.ContentType != "video/mp2t" {
				t.Errorf("content type %q", f.ContentType)
			}
			for i := range segs {
				wantN := 1
				if i == 2 {
					wantN = 2
				}
				if n := srv.Count(fmt.Sprintf("/v/seg%d.ts", i)); n != wantN {
					t.Errorf("segment %d: %d requests, want %d", i, n, wantN)
				}
			}
			if peak := srv.PeakRequests(srv.Host()); peak > perHost {
				t.Errorf("%d requests at once, over --per-host %d", peak, perHost)
			}
		})
	}
}

// TestHLSRecognised: a playlist is told by its Content-Type, or by its
// first bytes under a vague one, whatever its URL.
func TestHLSRecognised(t *testing.T) {
	for _, c := range []struct{ name, path, ctype, file string }{
		{"content type", "/watch", "application/x-mpegURL", "watch.ts"},
		{"first bytes", "/play.php", "text/plain; charset=utf-8", "play.php"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			segs := serveTS(srv, "/s", "rec", 2)
			srv.File(c.path, fault.File{Body: []byte(mediaPlaylist("/s/", 2)), ContentType: c.ctype})
			e := newDownloadEnv(t, nil)
			e.get(FileTask{URL: srv.URL(c.path)})
			e.wantFiles(map[string][]byte{c.file: bytes.Join(segs, nil)})
		})
	}
}

// TestHLSAES128: segments encrypted with AES-128 are decrypted: the IV the
// sequence number when the key gives none, a key that changes mid-playlist
// with an explicit IV, METHOD=NONE, and a key given as a data: URI. Each
// key is fetched once.
func TestHLSAES128(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	k1, k2, k3 := fault.Bytes("k1", 16), fault.Bytes("k2", 16), fault.Bytes("k3", 16)
	iv2 := fault.Bytes("iv2", 16)
	srv.File("/keys/k1", fault.File{Body: k1})
	srv.File("/k2", fault.File{Body: k2})
	plain := make([][]byte, 6)
	for i := range plain {
		plain[i] = tsSegment(fmt.Sprintf("aes%d", i), 10+i)
	}
	const seq = 41
	body := [][]byte{
		encrypt(k1, seqIV(seq), plain[0]),
		encrypt(k1, seqIV(seq+1), plain[1]),
		encrypt(k2, iv2, plain[2]),
		encrypt(k2, iv2, plain[3]),
		plain[4],
		encrypt(k3, seqIV(seq+5), plain[5]),
	}
	for i, b := range body {
		srv.File(fmt.Sprintf("/v/seg%d.ts", i), fault.File{Body: b})
	}
	playlist := fmt.Sprintf(`#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:%d
#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1"
#EXTINF:4,
seg0.ts
#EXTINF:4,
seg1.ts
#EXT-X-KEY:METHOD=AES-128,URI="%s",IV=0x%x
#EXTINF:4,
seg2.ts
#EXTINF:4,
seg3.ts
#EXT-X-KEY:METHOD=NONE
#EXTINF:4,
seg4.ts
#EXT-X-KEY:METHOD=AES-128,URI="data:text/plain;base64,%s"
#EXTINF:4,
seg5.ts
#EXT-X-ENDLIST
`, seq, srv.OtherURL("/k2"), iv2, base64.StdEncoding.EncodeToString(k3))
	srv.File("/v/index.m3u8", fault.File{Body: []byte(playlist), ContentType: mpegURL})
	e := newDownloadEnv(t, nil)
	url := srv.URL("/v/index.m3u8")
	page := srv.URL("/watch/7.html?t=1")
	e.get(FileTask{URL: url, Source: page})
	want := bytes.Join(plain, nil)
	e.wantFiles(map[string][]byte{"index.ts": want})
	e.wantRecord(url, "index.ts", want)
	if n := srv.Count("/keys/k1"); n != 1 {
		t.Errorf("key 1 fetched %d times", n)
	}
	if n := srv.Count("/k2"); n != 1 {
		t.Errorf("key 2 fetched %d times", n)
	}
	// The player's requests come from the page: the playlist, the keys
	// and the segments carry it as Referer, only its origin to another
	// host.
	for _, path := range []string{"/v/index.m3u8", "/keys/k1", "/v/seg0.ts", "/v/seg5.ts", "/k2"} {
		for _, r := range requests(t, srv, path) {
			want := page
			if path == "/k2" {
				want = srv.URL("/") // the page's origin
			}
			if r.Referer != want {
				t.Errorf("%s asked for with Referer %q, want %q", path, r.Referer, want)
			}
		}
	}
}

// TestHLSFragmentedMP4: an fMP4 stream is saved as .mp4: its EXT-X-MAP
// initialization section (a byte range) once, then its segments, byte
// ranges of one file with and without their offsets.
func TestHLSFragmentedMP4(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	media := fault.Bytes("fmp4", 5000)
	copy(media, "\x00\x00\x00\x18ftypiso6")
	srv.File("/v/media.mp4", fault.File{Body: media, ContentType: "video/mp4"})
	playlist := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="media.mp4",BYTERANGE="600@0"
#EXTINF:4,
#EXT-X-BYTERANGE:1000@600
media.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:1500
media.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:900@4000
media.mp4
#EXT-X-ENDLIST
`
	srv.File("/v/index.m3u8", fault.File{Body: []byte(playlist), ContentType: mpegURL})
	e := newDownloadEnv(t, nil)
	url := srv.URL("/v/index.m3u8")
	e.get(FileTask{URL: url})
	want := bytes.Join([][]byte{media[:600], media[600:1600], media[1600:3100], media[4000:4900]}, nil)
	e.wantFiles(map[string][]byte{"index.mp4": want})
	e.wantRecord(url, "index.mp4", want)
	if f, _ := e.record(url); f.ContentType != "video/mp4" {
		t.Errorf("content type %q", f.ContentType)
	}
	ranges := srv.Ranges("/v/media.mp4")
	slices.Sort(ranges)
	if !slices.Equal(ranges, []string{"bytes=0-599", "bytes=1600-3099", "bytes=4000-4899", "bytes=600-1599"}) {
		t.Errorf("ranges asked: %q", ranges)
	}
}

// TestHLSImageHeader: segments served behind a PNG (or JPEG) header are
// saved without it.
func TestHLSImageHeader(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x47\x00\x47"), fault.Bytes("png", 300)...)
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x47}, fault.Bytes("jpeg", 77)...)
	segs := [][]byte{tsSegment("d0", 30), tsSegment("d1", 31), tsSegment("d2", 2)}
	for i, hdr := range [][]byte{png, jpeg, png} {
		srv.File(fmt.Sprintf("/v/seg%d.ts", i), fault.File{Body: append(append([]byte{}, hdr...), segs[i]...), ContentType: "image/png"})
	}
	srv.File("/v/index.m3u8", fault.File{Body: []byte(mediaPlaylist("", 3)), ContentType: mpegURL})
	e := newDownloadEnv(t, nil)
	e.get(FileTask{URL: srv.URL("/v/index.m3u8"), Checked: true})
	e.wantFiles(map[string][]byte{"index.ts": bytes.Join(segs, nil)})
}

// TestHLSMaster: a master playlist is followed to the variant --variant
// picks (by default the highest resolution, never the I-frame playlist);
// no other variant is asked for.
func TestHLSMaster(t *testing.T) {
	for _, c := range []struct{ variant, want string }{{"", "hi"}, {"worst", "lo"}, {"720", "mid"}} {
		t.Run("variant "+c.variant, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			names := []string{"lo", "mid", "hi", "iframe"}
			segs := map[string][][]byte{}
			for _, v := range names {
				segs[v] = serveTS(srv, "/"+v, v, 3)
				srv.File("/"+v+"/index.m3u8", fault.File{Body: []byte(mediaPlaylist("", 3)), ContentType: mpegURL})
			}
			master := `#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
lo/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=9000000,RESOLUTION=3840x2160,URI="iframe/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080
hi/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720
mid/index.m3u8
`
			srv.File("/master.m3u8", fault.File{Body: []byte(master), ContentType: mpegURL})
			e := newDownloadEnv(t, func(c2 *Config) { c2.Variant = c.variant })
			url := srv.URL("/master.m3u8")
			e.get(FileTask{URL: url})
			want := bytes.Join(segs[c.want], nil)
			e.wantFiles(map[string][]byte{"master.ts": want})
			e.wantRecord(url, "master.ts", want)
			for _, v := range names {
				n := 0
				for i := range 3 {
					n += srv.Count(fmt.Sprintf("/%s/seg%d.ts", v, i))
				}
				n += srv.Count("/" + v + "/index.m3u8")
				if wantN := map[bool]int{true: 4, false: 0}[v == c.want]; n != wantN {
					t.Errorf("variant %s: %d requests, want %d", v, n, wantN)
				}
			}
		})
	}
}

// TestHLSUnsupported: a stream that cannot be saved fails with a reason
// that names why, before any segment is asked for, leaving no file.
func TestHLSUnsupported(t *testing.T) {
	for _, c := range []struct{ name, key, end, reason string }{
		{"sample-aes", `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"`, "#EXT-X-ENDLIST", "SAMPLE-AES"},
		{"drm", `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"`, "#EXT-X-ENDLIST", "DRM"},
		{"live", "", "", "live"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			serveTS(srv, "/v", "u", 2)
			playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:4\n" + c.key + "\n#EXTINF:4,\nseg0.ts\n#EXTINF:4,\nseg1.ts\n" + c.end + "\n"
			srv.File("/v/index.m3u8", fault.File{Body: []byte(playlist), ContentType: mpegURL})
			e := newDownloadEnv(t, nil)
			url := srv.URL("/v/index.m3u8")
			e.get(FileTask{URL: url})
			if r := e.failures()[url]; !strings.Contains(r, c.reason) {
				t.Errorf("failure %q, want it to say %s", r, c.reason)
			}
			e.wantFiles(map[string][]byte{})
			if n := srv.Count("/v/seg0.ts") + srv.Count("/v/seg1.ts"); n != 0 {
				t.Errorf("%d segment requests", n)
			}
		})
	}
}

// TestHLSResume: a part a stopped run left, marked as holding the first
// segments whole (and a segment cut short after them), is resumed after
// the last whole segment: those before it are not fetched again. A mark
// of another segment list starts over.
func TestHLSResume(t *testing.T) {
	for _, c := range []struct {
		name   string
		sameFP bool
		wantN  []int // requests per segment
	}{
		{"same stream", true, []int{0, 0, 0, 1, 1}},
		{"other stream", false, []int{1, 1, 1, 1, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			segs := serveTS(srv, "/v", "resume", 5)
			body := []byte(mediaPlaylist("", 5))
			srv.File("/v/index.m3u8", fault.File{Body: body, ContentType: mpegURL})
			url := srv.URL("/v/index.m3u8")
			pl, err := parser.ParsePlaylist(body, url)
			if err != nil {
				t.Fatal(err)
			}
			fp := fingerprint(pl)
			if !c.sameFP {
				fp = "0123456789abcdef01234567"
			}
			held := bytes.Join(segs[:3], nil)
			mark := hlsMark(fp, 3, int64(len(held)))
			e := newDownloadEnv(t, nil)
			e.part(url, "index.ts", append(held, segs[3][:100]...), mark)
			e.get(FileTask{URL: url})
			want := bytes.Join(segs, nil)
			e.wantFiles(map[string][]byte{"index.ts": want})
			e.wantRecord(url, "index.ts", want)
			for i, w := range c.wantN {
				if n := srv.Count(fmt.Sprintf("/v/seg%d.ts", i)); n != w {
					t.Errorf("segment %d: %d requests, want %d", i, n, w)
				}
			}
		})
	}
}

// TestHLSNoContentRange: a byte range of a segment answered 206 with no
// Content-Range is asked for again as the whole resource, which the range
// is cut out of.
func TestHLSNoContentRange(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	media := fault.Bytes("fmp4", 5000)
	copy(media, "\x00\x00\x00\x18ftypiso6")
	srv.HandleFunc("/v/media.mp4", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		if r.Header.Get("Range") != "" {
			w.WriteHeader(http.StatusPartialContent) // and the whole body
		}
		w.Write(media)
	})
	playlist := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="media.mp4",BYTERANGE="600@0"
#EXTINF:4,
#EXT-X-BYTERANGE:1000@600
media.mp4
#EXT-X-ENDLIST
`
	srv.File("/v/index.m3u8", fault.File{Body: []byte(playlist), ContentType: mpegURL})
	e := newDownloadEnv(t, nil)
	url := srv.URL("/v/index.m3u8")
	e.get(FileTask{URL: url})
	want := media[:1600]
	e.wantFiles(map[string][]byte{"index.mp4": want})
	e.wantRecord(url, "index.mp4", want)
	var got []string
	for _, r := range requests(t, srv, "/v/media.mp4") {
		got = append(got, fmt.Sprintf("%s %d", r.Range, r.Status))
	}
	slices.Sort(got)
	if want := []string{" 200", " 200", "bytes=0-599 206", "bytes=600-1599 206"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

// TestHLSAudioUnsupported: a variant whose separate audio rendition cannot
// be saved (SAMPLE-AES) fails with a reason that says so, before any
// segment of the video or of the audio is asked for, leaving nothing.
func TestHLSAudioUnsupported(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	serveTS(srv, "/v", "video", 2)
	srv.File("/v/index.m3u8", fault.File{Body: []byte(mediaPlaylist("", 2)), ContentType: mpegURL})
	serveTS(srv, "/a", "audio", 2)
	audio := strings.Replace(mediaPlaylist("", 2), "#EXTINF", "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n#EXTINF", 1)
	srv.File("/a/index.m3u8", fault.File{Body: []byte(audio), ContentType: mpegURL})
	master := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="en",DEFAULT=YES,URI="a/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aac"
v/index.m3u8
`
	srv.File("/master.m3u8", fault.File{Body: []byte(master), ContentType: mpegURL})
	e := newDownloadEnv(t, nil)
	url := srv.URL("/master.m3u8")
	e.get(FileTask{URL: url})
	if r := e.failures()[url]; !strings.Contains(r, "SAMPLE-AES") {
		t.Errorf("failure %q, want it to say SAMPLE-AES", r)
	}
	e.wantFiles(map[string][]byte{})
	for _, p := range []string{"/v/seg0.ts", "/v/seg1.ts", "/a/seg0.ts", "/a/seg1.ts"} {
		if n := srv.Count(p); n != 0 {
			t.Errorf("%s: %d requests", p, n)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(e.out, ".crawl", "hls", "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
