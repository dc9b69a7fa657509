package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir holds the html5lib encoding tests (see its README.md).
const conformanceDir = "../../shared/conformance/html5lib-encoding"

type encodingVector struct {
	file string
	n    int // 1-based position in the file
	data []byte
	want string
}

// readVectors splits an html5lib .dat file into its #data / #encoding
// sections.
func readVectors(t *testing.T, name string) []encodingVector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(conformanceDir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var out []encodingVector
	for i, sec := range bytes.Split(raw, []byte("#data\n"))[1:] {
		data, enc, ok := bytes.Cut(sec, []byte("\n#encoding\n"))
		if !ok {
			t.Fatalf("%s: test %d has no #encoding", name, i+1)
		}
		want := strings.ToLower(strings.TrimSpace(string(bytes.SplitN(enc, []byte("\n"), 2)[0])))
		out = append(out, encodingVector{file: name, n: i + 1, data: data, want: want})
	}
	return out
}

// declaresLatin1 reports whether a vector's bytes hold a label the standard
// maps to windows-1252, so that "windows-1252" is the prescan's own answer
// rather than a browser's default.
func declaresLatin1(data []byte) bool {
	l := bytes.ToLower(data)
	return bytes.Contains(l, []byte("iso-8859-1")) || bytes.Contains(l, []byte("windows-1252"))
}

// TestPrescanConformance runs the HTML Standard's prescan, as Parse uses it
// (byte order mark first, then the <meta> prescan of the first 1024 bytes
// and the rest of <head>), over html5lib's encoding vectors. Where a vector
// expects windows-1252 without declaring it, the prescan must find nothing.
func TestPrescanConformance(t *testing.T) {
	if _, err := os.Stat(conformanceDir); err != nil {
		t.Skipf("conformance vectors not available: %v", err)
	}
	var vectors []encodingVector
	for _, f := range []string{"tests1.dat", "tests2.dat", "test-yahoo-jp.dat"} {
		vectors = append(vectors, readVectors(t, f)...)
	}
	passed := 0
	for _, v := range vectors {
		want := v.want
		if want == "windows-1252" && !declaresLatin1(v.data) {
			want = ""
		}
		got := ""
		if _, name, n := sniffBOM(v.data); n > 0 {
			got = name
		} else {
			got = metaScan(v.data)
		}
		// Prescan alone sees only the first 1024 bytes; where those settle
		// it, it must agree.
		if _, _, n := sniffBOM(v.data); n == 0 && len(v.data) <= prescanLimit {
			if p := Prescan(v.data); p != got {
				t.Errorf("%s #%d: Prescan = %q, metaScan = %q", v.file, v.n, p, got)
			}
		}
		if got != want {
			t.Errorf("%s #%d: got %q, want %q; data:\n%.300q", v.file, v.n, got, want, v.data)
			continue
		}
		passed++
	}
	t.Logf("html5lib encoding prescan: %d/%d vectors pass", passed, len(vectors))
	if len(vectors) < 80 {
		t.Errorf("only %d vectors read; the files look truncated", len(vectors))
	}
}

// TestPrescanWithinLimit checks that Prescan alone stops at 1024 bytes while
// the <meta> step goes on through <head>.
func TestPrescanWithinLimit(t *testing.T) {
	comment := "<!--" + strings.Repeat("x", 2000) + "-->"
	tests := []struct {
		name        string
		doc         string
		wantPrescan string
		wantMeta    string
	}{
		{"meta after long comment", comment + `<meta charset="gbk">`, "", "gb18030"},
		{"meta after long script in head", "<html><head><script>" + strings.Repeat("var a = 1;\n", 200) + `</script><meta http-equiv="Content-Type" content="text/html; charset=big5"></head>`, "", "big5"},
		{"meta in body after 1024 is ignored", "<html><head><title>t</title></head><body>" + strings.Repeat("<p>text</p>", 150) + `<meta charset="big5">`, "", ""},
		{"meta straddling 1024", strings.Repeat(" ", 1010) + `<meta charset="shift_jis">`, "", "shift_jis"},
		{"body tag before 1024 ends the scan", "<body>" + strings.Repeat(" ", 1100) + `<meta charset="euc-kr">`, "", ""},
		{"within 1024", `<meta charset="EUC-JP">`, "euc-jp", "euc-jp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Prescan([]byte(tt.doc)); got != tt.wantPrescan {
				t.Errorf("Prescan = %q, want %q", got, tt.wantPrescan)
			}
			if got := metaScan([]byte(tt.doc)); got != tt.wantMeta {
				t.Errorf("metaScan = %q, want %q", got, tt.wantMeta)
			}
		})
	}
}

func TestPrescanLabels(t *testing.T) {
	tests := []struct {
		doc  string
		want string
	}{
		{`<meta charset="gb2312">`, "gb18030"},
		{`<meta charset=GBK>`, "gb18030"},
		{`<meta charset="x-gbk">`, "gb18030"},
		{`<meta charset="gb18030">`, "gb18030"},
		{`<META HTTP-EQUIV="CONTENT-TYPE" CONTENT="TEXT/HTML; CHARSET=GB2312">`, "gb18030"},
		{`<meta http-equiv=Content-Type content="text/html;charset=big5">`, "big5"},
		{`<meta charset="Shift_JIS">`, "shift_jis"},
		{`<meta charset="sjis">`, "shift_jis"},
		{`<meta charset="euc-kr">`, "euc-kr"},
		{`<meta charset="utf-16">`, "utf-8"},
		{`<meta charset="x-user-defined">`, "windows-1252"},
		{`<meta charset="iso-2022-kr"><meta charset="big5">`, "big5"}, // replacement is skipped
		{`<meta charset="nonsense"><meta charset="utf-8">`, "utf-8"},
		{`<meta charset="bogus" content="text/html; charset=gbk" http-equiv="content-type">`, ""}, // charset failure wins
		{`<meta content="text/html; charset=gbk" http-equiv="content-type" charset="bogus">`, ""},
		{`<meta http-equiv="content-type" content="charset=gbk" content="charset=big5">`, "gb18030"}, // duplicate attribute ignored
		{`<meta content="text/html; charset=gbk">`, ""},                                              // no pragma
		{`<meta/charset=big5>`, "big5"},
		{`<!--> <meta charset=big5>`, "big5"},
		{`<meta charset="big5"`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := Prescan([]byte(tt.doc)); got != tt.want {
			t.Errorf("Prescan(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestExtractCharset(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"text/html; charset=gbk", "gbk", true},
		{"text/html; CHARSET = 'big5' ", "big5", true},
		{`text/html; charset="utf-8"; x=1`, "utf-8", true},
		{"text/html; charset='utf-8", "", false},
		{"text/html; charsetx; charset=euc-jp", "euc-jp", true},
		{"text/html; charset=", "", false},
		{"text/html", "", false},
	}
	for _, tt := range tests {
		got, ok := extractCharset(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("extractCharset(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
