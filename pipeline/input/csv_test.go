package input

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"crawl/store"
)

// readCSV reads every row of data with opt (Path "-", from data) and
// returns the rows and what was reported.
func readCSV(t *testing.T, data io.Reader, opt CSVOptions) ([]CSVRow, string) {
	t.Helper()
	var warn bytes.Buffer
	opt.Path, opt.Warn = "-", &warn
	c, err := OpenCSV(opt, data)
	if err != nil {
		t.Fatalf("OpenCSV: %v", err)
	}
	defer c.Close()
	var rows []CSVRow
	for {
		row, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
	return rows, warn.String()
}

func urls(rows []CSVRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.URL)
	}
	return out
}

func TestCSVRecords(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		cells [][]string // cells of each row read
		lines []int      // the line each starts on
		warn  []string   // in what is reported, in order
	}{
		{
			name:  "plain with header and CRLF",
			in:    "id,name,url\r\n1,a,http://h/1.png\r\n2,b,http://h/2.png\r\n",
			cells: [][]string{{"1", "a", "http://h/1.png"}, {"2", "b", "http://h/2.png"}},
			lines: []int{2, 3},
		},
		{
			name: "quoted commas, quotes and line breaks",
			in: "id,name,url\n" +
				"1,\"Smith, John\",http://h/1.png\n" +
				"2,\"say \"\"hi\"\"\",\"http://h/2.png\"\n" +
				"3,\"two\r\nlines\nthree\",http://h/3.png\n" +
				"4, \"spaced\" ,http://h/4.png\n",
			cells: [][]string{
				{"1", "Smith, John", "http://h/1.png"},
				{"2", `say "hi"`, "http://h/2.png"},
				{"3", "two\nlines\nthree", "http://h/3.png"},
				{"4", "spaced", "http://h/4.png"},
			},
			lines: []int{2, 3, 4, 7},
		},
		{
			name:  "no final line break, trailing empty cell, bare quote",
			in:    "1,5\" screen,http://h/1.png,\n2,b,http://h/2.png",
			cells: [][]string{{"1", `5" screen`, "http://h/1.png", ""}, {"2", "b", "http://h/2.png"}},
			lines: []int{1, 2},
		},
		{
			name:  "quote never closed does not swallow the rows after it",
			in:    "id,name,url\n1,\"broken,http://h/1.png\n2,b,http://h/2.png\n3,c,http://h/3.png\n",
			cells: [][]string{{"2", "b", "http://h/2.png"}, {"3", "c", "http://h/3.png"}},
			lines: []int{3, 4},
			warn:  []string{"line 2: a quote opened on this line is never closed; row skipped"},
		},
		{
			name: "quote never closed meets a later quote",
			in:   "1,\"broken,http://h/1.png\n2,b,http://h/2.png\n3,\"c\",http://h/3.png\n",
			cells: [][]string{
				{"2", "b", "http://h/2.png"},
				{"3", "c", "http://h/3.png"},
			},
			lines: []int{2, 3},
			warn:  []string{"line 1: text after the closing quote of cell 2; row skipped"},
		},
		{
			name:  "text after a closing quote",
			in:    "1,\"a\"b,http://h/1.png\n2,b,http://h/2.png\n",
			cells: [][]string{{"2", "b", "http://h/2.png"}},
			lines: []int{2},
			warn:  []string{"line 1: text after the closing quote of cell 2"},
		},
		{
			name:  "blank lines and rows without a URL",
			in:    "name,url\n\n,,\na,http://h/1.png\nb,www.example.com/2.png\nc,\n",
			cells: [][]string{{"a", "http://h/1.png"}},
			lines: []int{4},
			warn:  []string{`line 5: column 2 is not an http(s) URL: "www.example.com/2.png"`, "line 6: column 2 is empty"},
		},
		{
			name:  "semicolons",
			in:    "id;name;url\n1;\"a;b\";http://h/1.png\n",
			cells: [][]string{{"1", "a;b", "http://h/1.png"}},
			lines: []int{2},
		},
		{
			name:  "tabs",
			in:    "id\tname\turl\n1\ta, b\thttp://h/1.png\n",
			cells: [][]string{{"1", "a, b", "http://h/1.png"}},
			lines: []int{2},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, warn := readCSV(t, strings.NewReader(tc.in), CSVOptions{})
			var cells [][]string
			var lines []int
			for _, r := range rows {
				cells = append(cells, r.Cells)
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(cells, tc.cells) {
				t.Errorf("cells %q, want %q", cells, tc.cells)
			}
			if !reflect.DeepEqual(lines, tc.lines) {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
			rest := warn
			for _, w := range tc.warn {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("reported %q, want it to say %q", warn, w)
					break
				}
				rest = rest[i+len(w):]
			}
			if len(tc.warn) == 0 && warn != "" {
				t.Errorf("reported %q", warn)
			}
		})
	}
}

// TestCSVUnclosedQuoteCap: a quote never closed in a big file is given up
// at maxCSVRecord, and reading goes on at the next line.
func TestCSVUnclosedQuoteCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("1,\"broken,http://h/0.png\n")
	n := 0
	for b.Len() < maxCSVRecord+maxCSVRecord/2 {
		n++
		b.WriteString("2,name,http://h/" + strings.Repeat("x", 100) + ".png\n")
	}
	rows, warn := readCSV(t, strings.NewReader(b.String()), CSVOptions{})
	if len(rows) != n {
		t.Errorf("%d rows, want %d", len(rows), n)
	}
	if !strings.Contains(warn, "line 1: a quote opened on this line is not closed within") {
		t.Errorf("reported %q", warn)
	}
}

func TestCSVLongLine(t *testing.T) {
	in := "1,a,http://h/1.png\n2," + strings.Repeat("y", maxCSVRecord+10) + ",http://h/2.png\n3,c,http://h/3.png\n"
	rows, warn := readCSV(t, strings.NewReader(in), CSVOptions{})
	if got := urls(rows); !reflect.DeepEqual(got, []string{"http://h/1.png", "http://h/3.png"}) {
		t.Errorf("urls %v", got)
	}
	if !strings.Contains(warn, "line 2: line longer than") {
		t.Errorf("reported %q", warn)
	}
}

func TestCSVEncodings(t *testing.T) {
	const text = "编号,名字,链接\r\n1,张三,http://h/1.png\r\n2,\"李四, 王五\",http://h/2.png\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tsv := "编号\t名字\t链接\r\n1\t张三\thttp://h/1.png\r\n2\t\"李四, 王五\"\thttp://h/2.png\r\n"
	utf16le, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(tsv)
	utf16be, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().String(text)
	// An ASCII start longer than what OpenCSV looks at, then GBK.
	asciiFirst, _ := simplifiedchinese.GBK.NewEncoder().String("id,name,url\n0,plain,http://h/0.png\n1,张三,http://h/1.png\n")
	// Names of one rare character, which alone would score better in
	// encodings other than GBK.
	rare, _ := simplifiedchinese.GBK.NewEncoder().String("id,name,url\n1,淼,http://h/1.png\n2,犇,http://h/2.png\n")
	// What OpenCSV sees of a pipe may end inside a character.
	noHeader, _ := simplifiedchinese.GBK.NewEncoder().String("1,肩,http://h/1.png\n2,张三,http://h/2.png\n")
	cases := []struct {
		name  string
		in    io.Reader
		opt   CSVOptions
		names []string
	}{
		{"utf-8", strings.NewReader(text), CSVOptions{NameCol: "2"}, []string{"张三", "李四, 王五"}},
		{"utf-8 bom", strings.NewReader("\ufeff" + text), CSVOptions{URLCol: "链接", NameCol: "名字"}, []string{"张三", "李四, 王五"}},
		{"gbk detected", strings.NewReader(gbk), CSVOptions{NameCol: "2"}, []string{"张三", "李四, 王五"}},
		{"gbk forced", strings.NewReader(gbk), CSVOptions{NameCol: "名字", Encoding: "GBK"}, []string{"张三", "李四, 王五"}},
		{"gbk after ascii", iotest.OneByteReader(strings.NewReader(asciiFirst)), CSVOptions{NameCol: "name"}, []string{"plain", "张三"}},
		{"gbk rare names", strings.NewReader(rare), CSVOptions{NameCol: "name"}, []string{"淼", "犇"}},
		{"gbk rare names after ascii", iotest.OneByteReader(strings.NewReader(rare)), CSVOptions{NameCol: "name"}, []string{"淼", "犇"}},
		{"gbk from a pipe, no header", iotest.OneByteReader(strings.NewReader(noHeader)), CSVOptions{NameCol: "2"}, []string{"肩", "张三"}},
		{"utf-16le bom tabs", strings.NewReader(utf16le), CSVOptions{NameCol: "名字", URLCol: "3"}, []string{"张三", "李四, 王五"}},
		{"utf-16be bom", strings.NewReader(utf16be), CSVOptions{NameCol: "2"}, []string{"张三", "李四, 王五"}},
		{"utf-16 forced", strings.NewReader(utf16le), CSVOptions{NameCol: "2", Encoding: "utf-16le"}, []string{"张三", "李四, 王五"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, warn := readCSV(t, tc.in, tc.opt)
			var names []string
			for _, r := range rows {
				names = append(names, r.Name)
			}
			if !reflect.DeepEqual(names, tc.names) {
				t.Errorf("names %q, want %q (reported %q)", names, tc.names, warn)
			}
			if warn != "" {
				t.Errorf("reported %q", warn)
			}
		})
	}
}

func TestCSVColumns(t *testing.T) {
	const withHeader = "id,title,link,mirror\n1,One,http://h/1.png,http://m/1.png\n"
	const headerless = "1,One,http://h/1.png,http://m/1.png\n"
	cases := []struct {
		name    string
		in      string
		opt     CSVOptions
		url     string
		rowName string
		header  []string
		bad     string // in the usage error
	}{
		{name: "first URL column", in: withHeader, url: "http://h/1.png", header: []string{"id", "title", "link", "mirror"}},
		{name: "by name", in: withHeader, opt: CSVOptions{URLCol: "mirror", NameCol: "title"}, url: "http://m/1.png", rowName: "One", header: []string{"id", "title", "link", "mirror"}},
		{name: "by name, any case", in: withHeader, opt: CSVOptions{URLCol: " Mirror "}, url: "http://m/1.png", header: []string{"id", "title", "link", "mirror"}},
		{name: "by number", in: headerless, opt: CSVOptions{URLCol: "4", NameCol: "1"}, url: "http://m/1.png", rowName: "1"},
		{name: "missing name", in: withHeader, opt: CSVOptions{URLCol: "url"}, bad: `--url-col "url": no such column in the header of standard input (columns: id, title, link, mirror)`},
		{name: "missing name col", in: withHeader, opt: CSVOptions{NameCol: "名字"}, bad: `--name-col "名字": no such column`},
		{name: "name without header", in: headerless, opt: CSVOptions{NameCol: "title"}, bad: "has no header row"},
		{name: "name in empty file", in: "", opt: CSVOptions{NameCol: "title"}, bad: "is empty"},
		{name: "column 0", in: withHeader, opt: CSVOptions{URLCol: "0"}, bad: "numbered from 1"},
		{name: "unknown encoding", in: withHeader, opt: CSVOptions{Encoding: "klingon"}, bad: `--csv-encoding: unknown encoding "klingon"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			opt.Path = "-"
			c, err := OpenCSV(opt, strings.NewReader(tc.in))
			if tc.bad != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("OpenCSV: %v, want a usage error saying %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !reflect.DeepEqual(c.Header(), tc.header) {
				t.Errorf("header %q, want %q", c.Header(), tc.header)
			}
			row, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if row.URL != tc.url || row.Name != tc.rowName {
				t.Errorf("row %+v, want URL %s name %q", row, tc.url, tc.rowName)
			}
			if _, err := c.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("second Next: %v", err)
			}
		})
	}
}

func TestOpenCSVFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenCSV(CSVOptions{Path: filepath.Join(dir, "none.csv")}, nil); err == nil || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenCSV(CSVOptions{Path: dir}, nil); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("folder: %v", err)
	}
}

// TestFailedCSVRoundTrip: failed.csv is read back with its URLs, quoted
// reasons and the sources the URLs first came from.
func TestFailedCSVRoundTrip(t *testing.T) {
	out := t.TempDir()
	fails := []store.Failure{
		{Queue: "download", URL: "http://h/a.png", Reason: "404 Not Found", Source: "in.csv"},
		{Queue: "download", URL: "http://h/b,c.png", Reason: "body ended, \"early\"\nreally", Source: "http://h/page.html"},
		{Queue: "download", URL: "", Reason: "decode task", Source: ""},
	}
	path, err := store.WriteFailed(context.Background(), out, fails)
	if err != nil || path == "" {
		t.Fatalf("WriteFailed = %q, %v", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, warn := readCSV(t, f, CSVOptions{})
	if warn != "" {
		t.Errorf("reported %q", warn)
	}
	if got := urls(rows); !reflect.DeepEqual(got, []string{"http://h/a.png", "http://h/b,c.png"}) {
		t.Errorf("urls %q", got)
	}
	if len(rows) == 2 && (rows[0].Source != "in.csv" || rows[1].Source != "http://h/page.html") {
		t.Errorf("sources %q %q", rows[0].Source, rows[1].Source)
	}
}

// TestCSVWithoutURLs: a file with rows of which none of the first holds a
// URL has no column of URLs: OpenCSV says so as a *UsageError naming the
// file, and reports none of its rows. A file of a header row only is
// reported once, at its end.
func TestCSVWithoutURLs(t *testing.T) {
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	many := "name\n" + strings.Repeat("someone\n", csvProbeRows) + "http://h/late.png\n"
	cases := []struct {
		name, in, urlCol, want string
	}{
		{"names only", "name,url\na,\nb,www.example.com/b.png\n", "", "no row holds an http(s) URL"},
		{"random bytes", string(random), "", "standard input"},
		{"url late", many, "", fmt.Sprintf("none of its first %d rows", csvProbeRows)},
		{"url column without urls", "a,b\nhttp://h/1.png,x\nhttp://h/2.png,y\n", "2", "in column 2"},
		{"malformed rows only", "\"a\nb\"c\n\"d\"e\n", "", "standard input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warn bytes.Buffer
			c, err := OpenCSV(CSVOptions{Path: "-", URLCol: tc.urlCol, Warn: &warn}, strings.NewReader(tc.in))
			var bad *UsageError
			if !errors.As(err, &bad) {
				c.Close()
				t.Fatalf("OpenCSV: %v; want a *UsageError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "standard input") {
				t.Errorf("error %q: want it to name standard input and say %q", err, tc.want)
			}
			if warn.Len() != 0 {
				t.Errorf("reported %q", warn.String())
			}
		})
	}

	var warn bytes.Buffer
	c, err := OpenCSV(CSVOptions{Path: "-", Warn: &warn}, strings.NewReader("name,url\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if row, err := c.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next = %+v, %v; want io.EOF", row, err)
		}
	}
	if got := strings.Count(warn.String(), "standard input: no row holds an http(s) URL"); got != 1 {
		t.Errorf("reported %q", warn.String())
	}
}

// TestCSVSomeRowsWithoutURL: rows without a URL in a file whose first rows
// hold one are reported and skipped, in the order of the file, as Next
// reaches them.
func TestCSVSomeRowsWithoutURL(t *testing.T) {
	var warn bytes.Buffer
	in := "name,url\na,\n\"bad\"x,y\nb,http://h/b.png\nc,nope\nd,http://h/d.png\n"
	c, err := OpenCSV(CSVOptions{Path: "-", Warn: &warn}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for {
		row, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row.URL)
	}
	if !reflect.DeepEqual(got, []string{"http://h/b.png", "http://h/d.png"}) {
		t.Errorf("urls %q", got)
	}
	lines := strings.Split(strings.TrimSpace(warn.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "line 2") || !strings.Contains(lines[1], "line 3") || !strings.Contains(lines[2], "line 5") {
		t.Errorf("reported %q; want lines 2, 3 and 5 in order", warn.String())
	}
}

func TestSniffDelimiter(t *testing.T) {
	cases := map[string]byte{
		"a,b,c":                    ',',
		"a;b;c":                    ';',
		"a;b,c":                    ',',
		"a\tb\tc":                  '\t',
		"1\tx\thttp://h/a,b,c.png": '\t',
		`"a;b;c",d`:                ',',
		"url":                      ',',
	}
	for in, want := range cases {
		if got := sniffDelimiter(in); got != want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenCSVHeaderAfterMalformedRow: a malformed row and a blank line
// before the header do not make the header a row; the column named by
// --url-col is found in it, and Next reports the malformed row first.
func TestOpenCSVHeaderAfterMalformedRow(t *testing.T) {
	in := "\"a\"b,c\n\nid,link\n1,http://h/1.png\n"
	var warn bytes.Buffer
	c, err := OpenCSV(CSVOptions{Path: "-", URLCol: "LINK", NameCol: "1", Warn: &warn}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !reflect.DeepEqual(c.Header(), []string{"id", "link"}) {
		t.Errorf("header %q", c.Header())
	}
	row, err := c.Next()
	if err != nil || row.URL != "http://h/1.png" || row.Name != "1" || row.Line != 4 {
		t.Fatalf("row %+v (%v), want line 4 with http://h/1.png named 1", row, err)
	}
	if !strings.Contains(warn.String(), "line 1") {
		t.Errorf("warnings %q: want the malformed line 1 reported", warn.String())
	}
}

// TestOpenCSVReadError: a file that fails while OpenCSV reads its first
// rows is a usage error naming it.
func TestOpenCSVReadError(t *testing.T) {
	_, err := OpenCSV(CSVOptions{Path: "-"}, iotest.ErrReader(errors.New("disk gone")))
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "read standard input") || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("OpenCSV: %v, want a usage error naming standard input and the failure", err)
	}
}
