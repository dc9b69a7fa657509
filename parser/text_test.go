package parser

import (
	"strings"
	"testing"
)

func TestDetectTextEncoding(t *testing.T) {
	// A CSV file as a Chinese Excel saves it, and rows whose only
	// non-ASCII text is one rare character: bytes that other candidates
	// score better than GB18030 does.
	const sheet = "编号,姓名,链接\r\n1,张婷,http://h/1.png\r\n2,李璐,http://h/2.png\r\n3,王瑶,http://h/3.png\r\n"
	cases := []struct {
		name string
		in   []byte
		want string
		bom  int
		sure bool
	}{
		{"ascii", []byte("id,url\nhttp://h/1.png\n"), "utf-8", 0, false},
		{"empty", nil, "utf-8", 0, false},
		{"utf-8", []byte(sheet), "utf-8", 0, true},
		{"utf-8 cut inside a character", []byte(sheet + "4,赵")[:len(sheet)+4], "utf-8", 0, true},
		{"utf-8 bom", []byte("\ufeff" + sheet), "utf-8", 3, true},
		{"utf-16le bom", append([]byte{0xFF, 0xFE}, encode(t, "utf-16le", sheet)...), "utf-16le", 2, true},
		{"utf-16be bom", append([]byte{0xFE, 0xFF}, encode(t, "utf-16be", sheet)...), "utf-16be", 2, true},
		{"gbk sheet", encode(t, "gbk", sheet), "gb18030", 0, true},
		{"gbk text", encode(t, "gbk", textGBK), "gb18030", 0, true},
		{"gbk cut inside a character", encode(t, "gbk", sheet+"4,赵")[:len(encode(t, "gbk", sheet))+3], "gb18030", 0, true},
		{"gbk cut inside its first character", encode(t, "gbk", "1,肩")[:3], "gb18030", 0, true},
		{"gb18030 four-byte", encode(t, "gb18030", textGB18030), "gb18030", 0, true},
		{"big5", encode(t, "big5", textBig5), "big5", 0, true},
		{"big5 names", encode(t, "big5", "名字,網址\n台灣風景圖片,http://h/1.png\n"), "big5", 0, true},
		// Shift_JIS that GB18030 decodes too (as it mostly does) is taken
		// for GBK: GBK files come first.
		{"shift_jis that fits GB18030", encode(t, "shift_jis", textJapanese), "gb18030", 0, true},
		{"windows-1252", encode(t, "windows-1252", "name,url\nCafé crème,http://h/1.png\n"), "windows-1252", 0, true},
	}
	for _, r := range []string{"淼", "鑫", "犇", "堃", "翀", "昇", "钰", "婷", "琪", "璐", "瑶", "頔", "珺"} {
		cases = append(cases, struct {
			name string
			in   []byte
			want string
			bom  int
			sure bool
		}{"gbk " + r, encode(t, "gbk", "1,"+r+",http://h/1.png\n2,b,http://h/2.png\n"), "gb18030", 0, true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := DetectTextEncoding(tc.in)
			if got.Name != tc.want || got.BOM != tc.bom || got.Sure != tc.sure {
				t.Fatalf("DetectTextEncoding = %s, BOM %d, sure %v; want %s, BOM %d, sure %v",
					got.Name, got.BOM, got.Sure, tc.want, tc.bom, tc.sure)
			}
			if _, name, err := LookupEncoding(got.Name); err != nil || name != got.Name {
				t.Errorf("%q is not a canonical name (%q, %v)", got.Name, name, err)
			}
			if got.Encoding == nil {
				t.Fatal("no encoding")
			}
			if !tc.sure || tc.want == "utf-8" {
				return
			}
			// The encoding decodes what follows the mark back to the text.
			text, err := got.Encoding.NewDecoder().Bytes(tc.in[got.BOM:])
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsRune(string(text), '\uFFFD') && !strings.HasPrefix(tc.name, "gbk cut") {
				t.Errorf("decoded with U+FFFD: %q", text)
			}
		})
	}
}

// FuzzDetectTextEncoding: detection never panics, names a canonical
// encoding, takes a byte order mark first, is sure of anything but ASCII,
// and calls valid UTF-8 UTF-8.
func FuzzDetectTextEncoding(f *testing.F) {
	addPageSeeds(f, func(b []byte) { f.Add(b) })
	f.Add([]byte("1,\xED\xB5,http://h/1.png\n"))
	f.Add([]byte("\xFF\xFEa\x00"))
	f.Add([]byte("a,\xE5\xBC"))
	f.Fuzz(func(t *testing.T, sample []byte) {
		got := DetectTextEncoding(sample)
		if _, name, err := LookupEncoding(got.Name); err != nil || name != got.Name {
			t.Fatalf("encoding %q is not a canonical name (%q, %v)", got.Name, name, err)
		}
		_, bomName, bomLen := sniffBOM(sample)
		switch {
		case bomLen > 0:
			if got.Name != bomName || got.BOM != bomLen || !got.Sure {
				t.Fatalf("BOM %s: got %+v", bomName, got)
			}
		case got.BOM != 0:
			t.Fatalf("BOM %d without a byte order mark", got.BOM)
		case isASCII(sample):
			if got.Sure || got.Name != nameUTF8 {
				t.Fatalf("ASCII: got %s, sure %v", got.Name, got.Sure)
			}
		case !got.Sure:
			t.Fatalf("not sure of a sample that is not ASCII")
		case validUTF8Start(sample) && got.Name != nameUTF8:
			t.Fatalf("valid UTF-8 taken for %s", got.Name)
		}
	})
}
