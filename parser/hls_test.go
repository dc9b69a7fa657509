package parser

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

const hlsBase = "https://cdn.example/v/1/index.m3u8?t=9"

func TestParsePlaylistMaster(t *testing.T) {
	body := `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
low/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,RESOLUTION=1920x1080,URI="iframe.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080
/abs/high.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720

https://other.example/mid.m3u8
`
	p, err := ParsePlaylist([]byte(body), hlsBase)
	if err != nil {
		t.Fatal(err)
	}
	want := []Variant{
		{URI: "https://cdn.example/v/1/low/index.m3u8", Bandwidth: 800000, Width: 640, Height: 360, Codecs: "avc1.4d401e,mp4a.40.2"},
		{URI: "https://cdn.example/abs/high.m3u8", Bandwidth: 5000000, Width: 1920, Height: 1080},
		{URI: "https://other.example/mid.m3u8", Bandwidth: 2500000, Width: 1280, Height: 720},
	}
	if !p.Master || !reflect.DeepEqual(p.Variants, want) || p.Segments != nil {
		t.Fatalf("got %+v", p)
	}
	for _, c := range []struct{ want, uri string }{
		{"best", "https://cdn.example/abs/high.m3u8"},
		{"", "https://cdn.example/abs/high.m3u8"},
		{"worst", "https://cdn.example/v/1/low/index.m3u8"},
		{"720", "https://other.example/mid.m3u8"},
		{"720p", "https://other.example/mid.m3u8"},
		{"900", "https://other.example/mid.m3u8"},         // the tallest below
		{"240", "https://cdn.example/v/1/low/index.m3u8"}, // none below: the shortest
	} {
		v, err := ChooseVariant(p.Variants, c.want)
		if err != nil || v.URI != c.uri {
			t.Errorf("ChooseVariant(%q) = %s, %v; want %s", c.want, v.URI, err, c.uri)
		}
	}
	if _, err := ChooseVariant(p.Variants, "big"); err == nil {
		t.Error("ChooseVariant(big): no error")
	}
	if _, err := ChooseVariant(nil, "best"); err == nil {
		t.Error("ChooseVariant of none: no error")
	}
}

func TestChooseVariantBandwidthBreaksTies(t *testing.T) {
	vs := []Variant{{URI: "a", Bandwidth: 1, Height: 720, Width: 1280}, {URI: "b", Bandwidth: 3, Height: 720, Width: 1280}, {URI: "c", Bandwidth: 2}}
	for want, uri := range map[string]string{"best": "b", "worst": "c", "720": "b"} {
		if v, _ := ChooseVariant(vs, want); v.URI != uri {
			t.Errorf("%s: got %s, want %s", want, v.URI, uri)
		}
	}
}

func TestParsePlaylistMedia(t *testing.T) {
	body := "\xEF\xBB\xBF#EXTM3U\r\n" + `#EXT-X-TARGETDURATION:10
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"
#EXTINF:9.5,
#EXT-X-BYTERANGE:1000@720
media.mp4
#EXTINF:9.5,title, with comma
#EXT-X-BYTERANGE:500
media.mp4
#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1",IV=0x000102030405060708090a0b0c0d0e0f
#EXT-X-DISCONTINUITY
#EXTINF:4,
#EXT-X-BYTERANGE:300@0
other.mp4
#EXT-X-KEY:METHOD=AES-128,URI="data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw=="
#EXT-X-MAP:URI="init2.mp4"
#EXTINF:4,
seg4.mp4
#EXT-X-KEY:METHOD=NONE
#EXTINF:4,
seg5.mp4
#EXT-X-ENDLIST
`
	p, err := ParsePlaylist([]byte(body), hlsBase)
	if err != nil {
		t.Fatal(err)
	}
	if p.Master || !p.EndList || p.MediaSequence != 7 || len(p.Segments) != 5 {
		t.Fatalf("got %+v", p)
	}
	map1 := &Map{URI: "https://cdn.example/v/1/init.mp4", Range: ByteRange{0, 720}}
	k1 := &Key{Method: "AES-128", URI: "https://cdn.example/v/keys/k1", IV: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}
	k2 := &Key{Method: "AES-128", URI: "data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw=="}
	map2 := &Map{URI: "https://cdn.example/v/1/init2.mp4", Range: ByteRange{0, -1}, Key: k2}
	want := []Segment{
		{URI: "https://cdn.example/v/1/media.mp4", Range: ByteRange{720, 1000}, Duration: 9.5, Sequence: 7, Map: map1},
		{URI: "https://cdn.example/v/1/media.mp4", Range: ByteRange{1720, 500}, Duration: 9.5, Sequence: 8, Map: map1},
		{URI: "https://cdn.example/v/1/other.mp4", Range: ByteRange{0, 300}, Duration: 4, Sequence: 9, Map: map1, Key: k1, Discontinuity: true},
		{URI: "https://cdn.example/v/1/seg4.mp4", Range: ByteRange{0, -1}, Duration: 4, Sequence: 10, Map: map2, Key: k2},
		{URI: "https://cdn.example/v/1/seg5.mp4", Range: ByteRange{0, -1}, Duration: 4, Sequence: 11, Map: map2},
	}
	for i := range want {
		if !reflect.DeepEqual(p.Segments[i], want[i]) {
			t.Errorf("segment %d:\n got %+v\nwant %+v", i, p.Segments[i], want[i])
		}
	}
	data, ok, err := DataURI(p.Segments[3].Key.URI)
	if !ok || err != nil || !bytes.Equal(data, k1.IV) {
		t.Errorf("DataURI: %x %v %v", data, ok, err)
	}
}

func TestParsePlaylistKeys(t *testing.T) {
	body := `#EXTM3U
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"
#EXT-X-KEY:METHOD=AES-128,URI="k",IV=0X1F
#EXTINF:1,
a.ts
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k2"
#EXTINF:1,
b.ts
#EXT-X-KEY:METHOD=AES-128,URI="skd://y",KEYFORMAT="com.widevine"
#EXTINF:1,
c.ts
`
	p, err := ParsePlaylist([]byte(body), hlsBase)
	if err != nil {
		t.Fatal(err)
	}
	if p.EndList {
		t.Error("EndList without EXT-X-ENDLIST")
	}
	s := p.Segments
	if k := s[0].Key; k.Method != "AES-128" || k.IV[15] != 0x1f || k.URI != "https://cdn.example/v/1/k" {
		t.Errorf("segment 0 key: %+v", k)
	}
	if k := s[1].Key; k.Method != "SAMPLE-AES" || !k.Identity() {
		t.Errorf("segment 1 key: %+v", k)
	}
	if k := s[2].Key; k.Identity() || k.Format != "com.widevine" {
		t.Errorf("segment 2 key: %+v", k)
	}
}

// TestParsePlaylistErrors: a playlist that cannot be read is an error;
// where want is given, the error names the line it is on and the problem.
func TestParsePlaylistErrors(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"no header":             {"#EXTINF:1,\na.ts\n", ""},
		"range without prior":   {"#EXTM3U\n#EXT-X-BYTERANGE:10\na.ts\n", "playlist line 3: EXT-X-BYTERANGE without an offset"},
		"range other file":      {"#EXTM3U\n#EXT-X-BYTERANGE:10@0\na.ts\n#EXT-X-BYTERANGE:10\nb.ts\n", ""},
		"range after whole":     {"#EXTM3U\na.ts\n#EXT-X-BYTERANGE:10\na.ts\n", ""},
		"bad range":             {"#EXTM3U\n#EXT-X-BYTERANGE:x@1\na.ts\n", ""},
		"negative offset":       {"#EXTM3U\n#EXT-X-BYTERANGE:1@-1\na.ts\n", ""},
		"bad iv":                {"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=12\na.ts\n", ""},
		"bad sequence":          {"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-3\na.ts\n", ""},
		"sequence not a number": {"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:x\n", "playlist line 2: bad media sequence \"x\""},
		"sequence after segment": {"#EXTM3U\n\n#EXTINF:1,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n",
			"playlist line 5: media sequence after the first segment"},
		"key without method": {"#EXTM3U\n#EXT-X-KEY:URI=\"k\"\na.ts\n", ""},
		"map without uri":    {"#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\na.ts\n", ""},
		"map with empty uri": {"#EXTM3U\r\n#EXT-X-MAP:URI=\"\"\r\n", "playlist line 2: EXT-X-MAP without a usable URI"},
		"bad audio uri":      {"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"http://[\"", "playlist line 2: "},
	} {
		_, err := ParsePlaylist([]byte(tc.body), hlsBase)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestIsPlaylist(t *testing.T) {
	for body, want := range map[string]bool{
		"#EXTM3U\n":             true,
		"\xEF\xBB\xBF#EXTM3U":   true,
		"\r\n #EXTM3U":          true,
		"#EXTINF":               false,
		"<html>#EXTM3U</html>":  false,
		"":                      false,
		"\x47\x00\x00\x10#EXTM": false,
	} {
		if got := IsPlaylist([]byte(body)); got != want {
			t.Errorf("IsPlaylist(%q) = %v", body, got)
		}
	}
}

// tsPackets returns n MPEG-TS-shaped packets.
func tsPackets(n int) []byte {
	b := make([]byte, n*tsPacket)
	for i := range n {
		b[i*tsPacket] = tsSync
		for k := 1; k < tsPacket; k++ {
			b[i*tsPacket+k] = byte(i + k)
		}
	}
	return b
}

func TestTSStart(t *testing.T) {
	ts := tsPackets(5)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x47\x47\x00"), make([]byte, 100)...)
	cases := []struct {
		name string
		seg  []byte
		want int
	}{
		{"plain ts", ts, 0},
		{"fmp4", []byte("\x00\x00\x00\x18ftypiso6"), 0},
		{"empty", nil, 0},
		{"png", append(append([]byte{}, png...), ts...), len(png)},
		{"jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x47, 1, 2}, ts...), 7},
		{"gif", append([]byte("GIF89a\x47"), ts[:2*tsPacket]...), 7},
		{"bmp one packet", append([]byte("BM\x47\x00"), ts[:tsPacket]...), 4},
		{"png no ts", png, -1},
	}
	for _, c := range cases {
		if got := TSStart(c.seg); got != c.want {
			t.Errorf("%s: TSStart = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestAudioOf: a variant's separate audio is the DEFAULT=YES rendition of
// its group, else the group's first; none when that one has no URI (the
// audio is in the variant's segments) or the variant names no group.
func TestAudioOf(t *testing.T) {
	body := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="fr",URI="fr.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="en",DEFAULT=YES,URI="en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="x",URI="lo/x.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="y",URI="lo/y.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="in",NAME="main",DEFAULT=YES
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="aac",NAME="subs",URI="subs.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="aac"
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2,AUDIO="lo"
b.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3,AUDIO="in"
c.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=4
d.m3u8
`
	p, err := ParsePlaylist([]byte(body), "https://cdn.example/m/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"https://cdn.example/m/en.m3u8", "https://cdn.example/m/lo/x.m3u8", "", ""} {
		r, ok := p.AudioOf(p.Variants[i])
		if ok != (want != "") || ok && r.URI != want {
			t.Errorf("variant %d: audio %+v, %v; want %q", i, r, ok, want)
		}
	}
}

// Tags before a variant's URI describe the variant; a key, a map or a
// duration given there does not carry over to a segment, and a master
// playlist keeps no segments.
func TestParsePlaylistVariantThenSegment(t *testing.T) {
	body := `#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=640x360,AUDIO="aud"
low/index.m3u8
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="s",NAME="en",URI="subs.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,URI="audio.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=10,URI="iframes.m3u8"
#EXTINF:3,
stray.ts
`
	p, err := ParsePlaylist([]byte(body), hlsBase)
	if err != nil {
		t.Fatal(err)
	}
	want := &Playlist{
		Master:   true,
		Variants: []Variant{{URI: "https://cdn.example/v/1/low/index.m3u8", Bandwidth: 100, Width: 640, Height: 360, AudioGroup: "aud"}},
		Audio:    []Rendition{{Group: "aud", Name: "main", URI: "https://cdn.example/v/1/audio.m3u8", Default: true}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}
