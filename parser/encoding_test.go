package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// Texts in the languages of the sites crawl is used on.
const (
	textGBK = "美女写真图片大全，高清壁纸免费下载。本站收集了最新的性感模特套图，每天更新，欢迎收藏！" +
		"朱镕基和王堃的照片也在这里。" // 镕 and 堃 are GBK but not GB2312
	textGB18030  = "四字节字符：𠀀㐀😀，以及欧元符号€。这些只有GB18030能编码。"
	textBig5     = "這是一個關於台灣風景攝影的網站，我們每天更新最新的高清圖片，歡迎大家瀏覽與分享。"
	textJapanese = "これは日本語のテキストです。写真集の画像をダウンロードできます。" +
		"毎日新しい写真を更新しています。よろしくお願いします。"
	textKorean = "이것은 한국어 텍스트입니다. 사진 갤러리에서 최신 이미지를 다운로드할 수 있습니다. 매일 업데이트됩니다."
	textFrench = "Les élèves étudient le français à l'école. Voilà où ça se passe — c'était très intéressant, déjà."
)

// encoders by the names tests use. "gbk" is x/text's GBK encoder, so that
// the bytes are plain GBK (two bytes a character).
var encoders = map[string]encoding.Encoding{
	"gbk":          simplifiedchinese.GBK,
	"gb18030":      simplifiedchinese.GB18030,
	"big5":         traditionalchinese.Big5,
	"shift_jis":    japanese.ShiftJIS,
	"euc-jp":       japanese.EUCJP,
	"euc-kr":       korean.EUCKR,
	"windows-1252": charmap.Windows1252,
	"utf-16le":     unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
	"utf-16be":     unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
}

// encode writes s in the named encoding ("utf-8": as is); a character the
// encoding lacks fails the test.
func encode(t testing.TB, name, s string) []byte {
	t.Helper()
	if name == "utf-8" {
		return []byte(s)
	}
	enc, ok := encoders[name]
	if !ok {
		t.Fatalf("no encoder %q", name)
	}
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q as %s: %v", s, name, err)
	}
	return b
}

func page(head, title, body string) string {
	return "<!DOCTYPE html>\n<html><head>" + head + "<title>" + title + "</title></head>\n<body><p>" + body + "</p></body></html>\n"
}

func TestLookupEncoding(t *testing.T) {
	tests := []struct {
		label   string
		want    string
		wantErr string
	}{
		{"gbk", "gb18030", ""},
		{"GB2312", "gb18030", ""},
		{"x-gbk", "gb18030", ""},
		{"cp936", "gb18030", ""},
		{"chinese", "gb18030", ""},
		{"csgb2312", "gb18030", ""},
		{"iso-ir-58", "gb18030", ""},
		{"gb_2312-80", "gb18030", ""},
		{" gb18030 ", "gb18030", ""},
		{"big5", "big5", ""},
		{"big5-hkscs", "big5", ""},
		{"shift_jis", "shift_jis", ""},
		{"sjis", "shift_jis", ""},
		{"euc-jp", "euc-jp", ""},
		{"euc-kr", "euc-kr", ""},
		{"UTF-8", "utf-8", ""},
		{"utf8", "utf-8", ""},
		{"latin1", "windows-1252", ""},
		{"iso-8859-1", "windows-1252", ""},
		{"utf-16", "utf-16le", ""},
		{"iso-2022-jp", "iso-2022-jp", ""},
		{"klingon", "", `unknown encoding "klingon"`},
		{"", "", `unknown encoding ""`},
		{"hz-gb-2312", "", `unsupported encoding "hz-gb-2312"`},
	}
	for _, tt := range tests {
		enc, name, err := LookupEncoding(tt.label)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("LookupEncoding(%q) error = %v, want %q", tt.label, err, tt.wantErr)
			}
			continue
		}
		if err != nil || name != tt.want || enc == nil {
			t.Errorf("LookupEncoding(%q) = %v, %q, %v; want %q", tt.label, enc, name, err, tt.want)
		}
	}
	// The GBK labels must decode GB18030's four-byte sequences.
	enc, _, _ := LookupEncoding("gbk")
	got, err := enc.NewDecoder().Bytes([]byte{0x95, 0x32, 0x82, 0x36})
	if err != nil || string(got) != "𠀀" {
		t.Errorf("gbk label decodes 95 32 82 36 as %q, %v; want 𠀀", got, err)
	}
}

func TestDetectEncoding(t *testing.T) {
	gbkPage := page("", "美女图片", textGBK)
	big5Page := page("", "風景圖片", textBig5)
	utf8BOM := append([]byte{0xEF, 0xBB, 0xBF}, page(`<meta charset="gbk">`, "标题", textGBK)...)
	tests := []struct {
		name        string
		body        []byte
		contentType string
		forced      string
		want, how   string
	}{
		{"header only", encode(t, "gbk", gbkPage), "text/html; charset=GBK", "", "gb18030", "header"},
		{"header gb2312 with GBK characters", encode(t, "gbk", gbkPage), "text/html;charset=gb2312", "", "gb18030", "header"},
		{"header malformed", encode(t, "big5", big5Page), `text/html; charset="big5`, "", "big5", "header"},
		{"meta http-equiv only", encode(t, "gbk", page(`<meta http-equiv="Content-Type" content="text/html; charset=gb2312">`, "美女", textGBK)), "text/html", "", "gb18030", "meta"},
		{"meta charset only", encode(t, "big5", page(`<meta charset="big5">`, "風景", textBig5)), "", "", "big5", "meta"},
		{"meta shift_jis", encode(t, "shift_jis", page(`<meta charset="Shift_JIS">`, "写真", textJapanese)), "", "", "shift_jis", "meta"},
		{"meta gb18030 four-byte", encode(t, "gb18030", page(`<meta charset="gb18030">`, "四字节", textGB18030)), "", "", "gb18030", "meta"},
		{"header beats meta", encode(t, "big5", page(`<meta charset="gbk">`, "風景", textBig5)), "text/html; charset=big5", "", "big5", "header"},
		{"unknown header label falls to meta", encode(t, "big5", page(`<meta charset="big5">`, "風景", textBig5)), "text/html; charset=klingon", "", "big5", "meta"},
		{"utf-16 header on ASCII-compatible bytes ignored", encode(t, "big5", page(`<meta charset="big5">`, "風景", textBig5)), "text/html; charset=utf-16", "", "big5", "meta"},
		{"bom utf-8 beats meta and header", utf8BOM, "text/html; charset=big5", "", "utf-8", "bom"},
		{"bom utf-16le", append([]byte{0xFF, 0xFE}, encode(t, "utf-16le", gbkPage)...), "", "", "utf-16le", "bom"},
		{"bom utf-16be", append([]byte{0xFE, 0xFF}, encode(t, "utf-16be", gbkPage)...), "", "", "utf-16be", "bom"},
		{"forced beats everything", encode(t, "big5", page(`<meta charset="big5">`, "風景", textBig5)), "text/html; charset=big5", "gbk", "gb18030", "forced"},
		{"forced utf-8 with bom", utf8BOM, "", "utf-8", "utf-8", "forced"},
		{"nowhere gbk", encode(t, "gbk", gbkPage), "", "", "gb18030", "guess"},
		{"nowhere gb18030", encode(t, "gb18030", page("", "四字节", textGB18030)), "", "", "gb18030", "guess"},
		{"nowhere big5", encode(t, "big5", big5Page), "text/html", "", "big5", "guess"},
		{"nowhere shift_jis", encode(t, "shift_jis", page("", "写真集", textJapanese)), "", "", "shift_jis", "guess"},
		{"nowhere euc-jp", encode(t, "euc-jp", page("", "写真集", textJapanese)), "", "", "euc-jp", "guess"},
		{"nowhere euc-kr", encode(t, "euc-kr", page("", "사진", textKorean)), "", "", "euc-kr", "guess"},
		{"nowhere windows-1252", encode(t, "windows-1252", page("", "L'école", textFrench)), "", "", "windows-1252", "guess"},
		{"nowhere utf-8", []byte(page("", "美女图片", textGBK)), "", "", "utf-8", "guess"},
		{"nowhere ascii", []byte(page("", "Hello", "plain text")), "", "", "utf-8", "guess"},
		{"empty", nil, "", "", "utf-8", "guess"},
		{"utf-8 page labelled gb2312", []byte(page(`<meta charset="gb2312">`, "美女图片", textGBK)), "", "", "utf-8", "guess"},
		{"gbk page labelled utf-8 in meta", encode(t, "gbk", page(`<meta charset="utf-8">`, "美女图片", textGBK)), "", "", "gb18030", "guess"},
		{"gbk page labelled utf-8 in header", encode(t, "gbk", gbkPage), "text/html; charset=utf-8", "", "gb18030", "guess"},
		{"big5 page labelled gbk", encode(t, "big5", page(`<meta charset="gbk">`, "風景", textBig5)), "", "", "big5", "guess"},
		{"gbk page served as iso-8859-1", encode(t, "gbk", page(`<meta charset="gb2312">`, "美女图片", textGBK)), "text/html; charset=ISO-8859-1", "", "gb18030", "guess"},
		{"windows-1252 page served as iso-8859-1", encode(t, "windows-1252", page("", "L'école", textFrench)), "text/html; charset=iso-8859-1", "", "windows-1252", "header"},
		{"ascii page served as iso-8859-1", []byte(page("", "Hello", "x")), "text/html; charset=iso-8859-1", "", "windows-1252", "header"},
		{"utf-8 page served as iso-8859-1", []byte(page("", "Café", textFrench)), "text/html; charset=iso-8859-1", "", "utf-8", "guess"},
		{"a label that decodes cleanly is kept", encode(t, "gbk", page(`<meta charset="euc-kr">`, "美女", "高清美女图片")), "", "", "euc-kr", "meta"},
		{"utf-8 page with one bad byte keeps its label", append([]byte(page(`<meta charset="utf-8">`, "美女图片", textGBK)), 0xFF), "", "", "utf-8", "meta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, how, err := DetectEncoding(tt.body, tt.contentType, tt.forced)
			if err != nil {
				t.Fatalf("DetectEncoding: %v", err)
			}
			if name != tt.want || how != tt.how {
				t.Errorf("DetectEncoding = %q, %q; want %q, %q", name, how, tt.want, tt.how)
			}
		})
	}
	if _, _, err := DetectEncoding([]byte("x"), "", "klingon"); err == nil {
		t.Error("DetectEncoding with an unknown forced label: no error")
	}
}

// TestGuessShortAndMixed covers pages with little text, where the guess has
// the least to go on.
func TestGuessShortAndMixed(t *testing.T) {
	tests := []struct {
		enc, text, want string
	}{
		{"gbk", "美女图片", "gb18030"},
		{"gbk", "第1页 共20页 下一页", "gb18030"},
		{"gbk", "性感美女模特高清套图", "gb18030"},
		{"gbk", "【动漫】あの花の名前を僕達はまだ知らない 高清壁纸", "gb18030"},
		{"big5", "台灣風景圖片", "big5"},
		{"big5", "第1頁 共20頁 下一頁", "big5"},
		{"shift_jis", "写真集 ダウンロード", "shift_jis"},
		{"euc-jp", "写真集のダウンロード", "euc-jp"},
		{"euc-kr", "사진 갤러리 다운로드", "euc-kr"},
		{"windows-1252", "Café crème", "windows-1252"},
	}
	for _, tt := range tests {
		body := encode(t, tt.enc, page("", tt.text, `<a href="/next.html">`+tt.text+`</a>`))
		name, how, err := DetectEncoding(body, "", "")
		if err != nil || name != tt.want || how != "guess" {
			t.Errorf("%s %q: DetectEncoding = %q, %q, %v; want %q, guess", tt.enc, tt.text, name, how, err, tt.want)
		}
	}
}

// TestGuessBig5Vector uses html5lib's undeclared Big5 text.
func TestGuessBig5Vector(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(conformanceDir, "test_big5.txt"))
	if err != nil {
		t.Skipf("conformance vectors not available: %v", err)
	}
	name, how, err := DetectEncoding(b, "", "")
	if err != nil || name != "big5" || how != "guess" {
		t.Errorf("DetectEncoding(test_big5.txt) = %q, %q, %v; want big5, guess", name, how, err)
	}
}

func TestGuessLargeBody(t *testing.T) {
	// More than the guess samples, cut in the middle of a character.
	body := encode(t, "gbk", strings.Repeat(textGBK, guessSample/len(textGBK)*2))
	body = append(encode(t, "gbk", "<p>"), body[:len(body)-1]...)
	name, _, err := DetectEncoding(body, "", "")
	if err != nil || name != "gb18030" {
		t.Errorf("DetectEncoding(large) = %q, %v; want gb18030", name, err)
	}
}

func TestGuessISO2022JP(t *testing.T) {
	body, err := japanese.ISO2022JP.NewEncoder().Bytes([]byte(page("", "写真", textJapanese)))
	if err != nil {
		t.Fatal(err)
	}
	name, how, err := DetectEncoding(body, "", "")
	if err != nil || name != "iso-2022-jp" || how != "guess" {
		t.Errorf("DetectEncoding = %q, %q, %v; want iso-2022-jp, guess", name, how, err)
	}
}

func TestParseDecodes(t *testing.T) {
	tests := []struct {
		name, enc, text string
	}{
		{"gbk outside gb2312", "gbk", textGBK},
		{"gb18030 four-byte", "gb18030", textGB18030},
		{"big5", "big5", textBig5},
		{"shift_jis", "shift_jis", textJapanese},
		{"euc-kr", "euc-kr", textKorean},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := encode(t, tt.enc, page("", tt.text, "x"))
			doc, err := Parse("http://example.com/", body, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Title(); got != tt.text {
				t.Errorf("Title = %q, want %q (encoding %s)", got, tt.text, doc.Encoding)
			}
		})
	}
	// The GBK bytes of 镕 and 堃, and GB18030's four bytes of 𠀀.
	if b := encode(t, "gbk", "镕堃"); !bytes.Equal(b, []byte{0xE9, 0x46, 0x88, 0xD2}) {
		t.Errorf("GBK 镕堃 = % X", b)
	}
	if b := encode(t, "gb18030", "𠀀"); !bytes.Equal(b, []byte{0x95, 0x32, 0x82, 0x36}) {
		t.Errorf("GB18030 𠀀 = % X", b)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse("http://example.com/", []byte("<p>x"), "", "klingon"); err == nil || !strings.Contains(err.Error(), `unknown encoding "klingon"`) {
		t.Errorf("Parse with unknown forced label: error %v", err)
	}
	if _, err := Parse("http://exa mple.com/%zz", []byte("<p>x"), "", ""); err == nil {
		t.Error("Parse with a bad page URL: no error")
	}
}
