package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"crawl"
)

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantFiles checks that out holds exactly want (path → demo image served
// as img/NAME) and that the manifest lists them.
func wantFiles(t *testing.T, out string, want map[string]string, stderr string) {
	t.Helper()
	got := files(t, out)
	for path, img := range want {
		if sum, ok := got[path]; !ok {
			t.Errorf("no file %s", path)
		} else if sum != demoFileSum(t, "img/"+img) {
			t.Errorf("%s does not hold img/%s", path, img)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected file %s", path)
		}
	}
	if t.Failed() {
		t.Logf("files %v\nstderr:\n%s", got, stderr)
	}
	checkManifest(t, out, got)
}

// TestGetCSVGBK reads a headerless id,name,url CSV saved in GBK, as Excel
// does on a Chinese Windows, and names each file after its Chinese name.
func TestGetCSVGBK(t *testing.T) {
	srv, _ := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	text := "1,张三," + srv.URL + "/img/g1-1.png\r\n" +
		"2,李四," + srv.URL + "/img/g1-2.png\r\n" +
		"3,王五/赵六," + srv.URL + "/img/g2-1.png\r\n" +
		"4,《东邪西毒》剧照," + srv.URL + "/img/g3-1.png\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "names.csv", []byte(gbk))
	r := runCrawl(t, dir, "", "get", "--csv", "names.csv", "--url-col", "3", "--name-col", "2", "--out", out, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{
		"张三.png":       "g1-1.png",
		"李四.png":       "g1-2.png",
		"王五_赵六.png":    "g2-1.png",
		"《东邪西毒》剧照.png": "g3-1.png",
	}, r.stderr)
	if m := manifest(t, out); m["张三.png"] != nil && m["张三.png"][5] != "names.csv" {
		t.Errorf("manifest source %q, want names.csv", m["张三.png"][5])
	}
	if strings.Contains(r.stderr, "skipped") && !strings.Contains(r.stderr, "0 skipped") {
		t.Errorf("rows reported skipped:\n%s", r.stderr)
	}
}

// TestGetCSVHeaderBOM reads a UTF-8 CSV with a BOM and a header, the URL
// and name columns given by header name, and header names in --name.
func TestGetCSVHeaderBOM(t *testing.T) {
	srv, _ := serveDemo(t)
	dir := t.TempDir()
	csvText := "\ufeffid,title,link,album\r\n" +
		"7,Sunset," + srv.URL + "/img/g1-1.png,Trip\r\n" +
		"8,Harbour," + srv.URL + "/img/g1-2.png,Trip\r\n"
	writeFile(t, dir, "photos.csv", []byte(csvText))

	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", "--csv", "photos.csv", "--url-col", "link", "--name-col", "title", "--out", out, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{"Sunset.png": "g1-1.png", "Harbour.png": "g1-2.png"}, r.stderr)

	out2 := filepath.Join(dir, "out2")
	r = runCrawl(t, dir, "", "get", "--csv", "photos.csv", "--name", "{album}/{1}-{title}{ext}", "--out", out2, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out2, map[string]string{"Trip/7-Sunset.png": "g1-1.png", "Trip/8-Harbour.png": "g1-2.png"}, r.stderr)
}

// TestGetCSVQuotedAndMalformed: quoted cells with commas, quotes and line
// breaks are read right; a row whose quote is never closed is reported with
// its line number and skipped, and the rows after it are downloaded.
func TestGetCSVQuotedAndMalformed(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	csvText := "name,url\n" +
		"\"Smith, John\"," + srv.URL + "/img/g1-1.png\n" +
		"\"two\nlines\",\"" + srv.URL + "/img/g1-2.png\"\n" +
		"\"the \"\"best\"\" one\"," + srv.URL + "/img/g2-1.png\n" +
		"\"never closed," + srv.URL + "/img/g2-2.png\n" +
		"after," + srv.URL + "/img/g3-1.png\n" +
		"last," + srv.URL + "/img/g3-2.png\n"
	writeFile(t, dir, "quoted.csv", []byte(csvText))
	r := runCrawl(t, dir, "", "get", "--csv", "quoted.csv", "--name-col", "name", "--out", out, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{
		"Smith, John.png":    "g1-1.png",
		"two lines.png":      "g1-2.png",
		"the _best_ one.png": "g2-1.png",
		"after.png":          "g3-1.png",
		"last.png":           "g3-2.png",
	}, r.stderr)
	if !strings.Contains(r.stderr, "quoted.csv line 6:") || !strings.Contains(r.stderr, "never closed") {
		t.Errorf("the malformed row is not reported with its line:\n%s", r.stderr)
	}
	if n := cnt.Hits("/img/g2-2.png"); n != 0 {
		t.Errorf("the malformed row's URL was fetched %d times", n)
	}
}

// TestGetListStdinURLsAndCSV: --list - from standard input with comments,
// URLs on the command line and a CSV, all in one run.
func TestGetListStdinURLsAndCSV(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	list := "# first the gallery\n" + srv.URL + "/img/g1-1.png\n\n   # indented comment\n" + srv.URL + "/img/g1-2.png\n"
	writeFile(t, dir, "more.csv", []byte("url\n"+srv.URL+"/img/g2-1.png\n"+srv.URL+"/img/g1-1.png\n"))
	r := runCrawl(t, dir, list, "get", "--list", "-", "--csv", "more.csv", "--out", out, "--quiet",
		srv.URL+"/img/logo.png", srv.URL+"/img/g3-1.png")
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{
		"g1-1.png": "g1-1.png", "g1-2.png": "g1-2.png", "g2-1.png": "g2-1.png",
		"logo.png": "logo.png", "g3-1.png": "g3-1.png",
	}, r.stderr)
	if n := cnt.Hits("/img/g1-1.png"); n != 1 {
		t.Errorf("a URL in the list and the CSV was fetched %d times", n)
	}
	m := manifest(t, out)
	for path, src := range map[string]string{"g1-2.png": "-", "g2-1.png": "more.csv", "logo.png": "command line"} {
		if m[path] == nil || m[path][5] != src {
			t.Errorf("manifest source of %s: %v, want %q", path, m[path], src)
		}
	}

	// A CSV from standard input.
	out2 := filepath.Join(dir, "out2")
	r = runCrawl(t, dir, "id;url\n1;"+srv.URL+"/img/g4-1.png\n", "get", "--csv", "-", "--name", "{id}{ext}", "--out", out2, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out2, map[string]string{"1.png": "g4-1.png"}, r.stderr)
}

// TestGetFailedCSV: a URL that fails lands in OUT/failed.csv; once the
// server is mended, crawl get --csv OUT/failed.csv fetches exactly it, under
// the name it was given, and failed.csv goes away.
func TestGetFailedCSV(t *testing.T) {
	var mended atomic.Bool
	demo := crawl.DemoHandler()
	srv, cnt := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late/g2-1.png" {
			if !mended.Load() {
				http.NotFound(w, r)
				return
			}
			r.URL.Path = "/img/g2-1.png"
		}
		demo.ServeHTTP(w, r)
	}))
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	late := srv.URL + "/late/g2-1.png"
	writeFile(t, dir, "in.csv", []byte("name,url\nfirst,"+srv.URL+"/img/g1-1.png\nlate,"+late+"\n"))
	r := runCrawl(t, dir, "", "get", "--csv", "in.csv", "--name-col", "1", "--out", out, "--quiet", "--retry-wait", "1ms")
	mustCode(t, r, 1)
	failedPath := filepath.Join(out, "failed.csv")
	if !strings.Contains(r.stderr, failedPath) {
		t.Errorf("the summary does not point at failed.csv:\n%s", r.stderr)
	}
	rows := reportRows(t, out, "failed.csv", failedHeader)
	if len(rows) != 1 || rows[0][0] != late || !strings.Contains(rows[0][1], "404") || rows[0][2] != "in.csv" {
		t.Fatalf("failed.csv %q", rows)
	}
	if _, ok := files(t, out)["first.png"]; !ok {
		t.Fatalf("first.png not downloaded:\n%s", r.stderr)
	}

	mended.Store(true)
	r = runCrawl(t, dir, "", "get", "--csv", failedPath, "--out", out, "--quiet")
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{"first.png": "g1-1.png", "late.png": "g2-1.png"}, r.stderr)
	if _, err := os.Stat(failedPath); !os.IsNotExist(err) {
		t.Errorf("failed.csv left after a run without failures: %v", err)
	}
	if n := cnt.Hits("/img/g1-1.png"); n != 1 {
		t.Errorf("a URL that had not failed was fetched %d times", n)
	}
	if n := cnt.Hits("/late/g2-1.png"); n != 2 {
		t.Errorf("the failed URL was fetched %d times, want 2", n)
	}
	if m := manifest(t, out); m["late.png"] == nil || m["late.png"][5] != "in.csv" {
		t.Errorf("manifest row of late.png %v: want its first source in.csv", m["late.png"])
	}
}

// TestGetCSVBadInput: problems with the CSV or its flags are one line and
// exit 2, before anything is written or fetched.
func TestGetCSVBadInput(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	writeFile(t, dir, "ok.csv", []byte("id,title,link\n1,One,"+srv.URL+"/img/g1-1.png\n"))
	writeFile(t, dir, "headerless.csv", []byte("1,One,"+srv.URL+"/img/g1-1.png\n"))
	if err := os.Mkdir(filepath.Join(dir, "folder.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	unreadable := writeFile(t, dir, "locked.csv", []byte("url\n"+srv.URL+"/img/g1-1.png\n"))
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	_, openErr := os.Open(unreadable) // root reads it anyway
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing url column", []string{"--csv", "ok.csv", "--url-col", "url"}, `--url-col "url"`},
		{"missing name column", []string{"--csv", "ok.csv", "--name-col", "名字"}, "--name-col"},
		{"name column without header", []string{"--csv", "headerless.csv", "--name-col", "title"}, "no header row"},
		{"unknown csv encoding", []string{"--csv", "ok.csv", "--csv-encoding", "klingon"}, "--csv-encoding"},
		{"missing csv", []string{"--csv", "no-such.csv"}, "no-such.csv"},
		{"folder csv", []string{"--csv", "folder.csv"}, "folder.csv"},
		{"csv under a file", []string{"--csv", "ok.csv/x.csv"}, "ok.csv/x.csv"},
		{"unknown name field", []string{"--csv", "ok.csv", "--name", "{nope}{ext}"}, "{nope}"},
		{"cell field without csv", []string{"--name", "{1}{ext}", srv.URL + "/img/g1-1.png"}, "{1}"},
		{"url-col without csv", []string{"--url-col", "2", srv.URL + "/img/g1-1.png"}, "--url-col"},
		{"stdin twice", []string{"--csv", "-", "--list", "-"}, "standard input"},
	}
	if openErr != nil {
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"unreadable csv", []string{"--csv", "locked.csv"}, "locked.csv"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkBadUsage(t, dir, filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")), tc.want, append([]string{"get"}, tc.args...)...)
		})
	}
	if n := len(cnt.Snapshot()); n != 0 {
		t.Errorf("bad input made %d requests", n)
	}
}

// TestRecordedButLostOnDisk is what a power cut can leave: files are
// synced in batches, so a file recorded as done may be missing or cut
// short on disk. The same command again fetches exactly those, under the
// same names.
func TestRecordedButLostOnDisk(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--out", out, "--quiet",
		srv.URL + "/img/g1-1.png", srv.URL + "/img/g1-2.png", srv.URL + "/img/g2-1.png"}
	mustCode(t, runCrawl(t, dir, "", args...), 0)
	if err := os.Truncate(filepath.Join(out, "g1-1.png"), 10); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "g1-2.png")); err != nil {
		t.Fatal(err)
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	wantFiles(t, out, map[string]string{"g1-1.png": "g1-1.png", "g1-2.png": "g1-2.png", "g2-1.png": "g2-1.png"}, r.stderr)
	for path, want := range map[string]int{"/img/g1-1.png": 2, "/img/g1-2.png": 2, "/img/g2-1.png": 1} {
		if n := cnt.Hits(path); n != want {
			t.Errorf("%s fetched %d times, want %d", path, n, want)
		}
	}
}

// TestGuessedExtensions: names whose extension comes from the response are
// reserved ahead on the guess that a file is of the last one's type; a
// response of another type gets its own extension, and the guessed name is
// given back.
func TestGuessedExtensions(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 a jpeg")
	png := []byte("\x89PNG\r\n\x1a\n a png")
	kind := func(n int) string {
		switch n {
		case 21, 33:
			return "png"
		case 40:
			return "gif"
		}
		return "jpeg"
	}
	srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/f/%d", &n); err != nil {
			http.NotFound(w, r)
			return
		}
		switch kind(n) {
		case "png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "gif":
			w.Header().Set("Content-Type", "image/gif")
			w.Write([]byte("GIF89a a gif"))
		default:
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg)
		}
	}))
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var csvText strings.Builder
	want := map[string]bool{}
	for n := 1; n <= 40; n++ {
		fmt.Fprintf(&csvText, "%d,pic%02d,%s/f/%d\n", n, n, srv.URL, n)
		ext := map[string]string{"jpeg": ".jpg", "png": ".png", "gif": ".gif"}[kind(n)]
		want[fmt.Sprintf("pic%02d%s", n, ext)] = true
	}
	writeFile(t, dir, "list.csv", []byte(csvText.String()))
	r := runCrawl(t, dir, "", "get", "--csv", "list.csv", "--url-col", "3", "--name-col", "2", "--workers", "4", "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("unexpected file %s", name)
		}
	}
	checkManifest(t, out, got)
	// Run again: every name is found as it was reserved, nothing is fetched.
	r = runCrawl(t, dir, "", "get", "--csv", "list.csv", "--url-col", "3", "--name-col", "2", "--workers", "4", "--out", out)
	mustCode(t, r, 0)
	if !strings.Contains(r.stderr, "0 downloaded") || !strings.Contains(r.stderr, "40 skipped") {
		t.Errorf("second run:\n%s", r.stderr)
	}
}

// TestNameTakenMidCrawl: a file that appears from elsewhere under a new
// file's name while it downloads is not replaced; the URL fails, and the
// same command again saves it under another name.
func TestNameTakenMidCrawl(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	theirs := []byte("not ours")
	var appeared atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late.jpg" && !appeared.Swap(true) {
			// Someone else's file appears under the name meanwhile.
			if err := os.WriteFile(filepath.Join(out, "late.jpg"), theirs, 0o644); err != nil {
				t.Error(err)
			}
		}
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprintf(w, "\xff\xd8\xff image %s", r.URL.Path)
	}))
	defer srv.Close()
	args := []string{"get", "--out", out, "--quiet", srv.URL + "/a.jpg", srv.URL + "/late.jpg"}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 1)
	if b, _ := os.ReadFile(filepath.Join(out, "late.jpg")); string(b) != string(theirs) {
		t.Errorf("late.jpg holds %q, want what appeared there", b)
	}
	if why := failedReasons(t, out)[srv.URL+"/late.jpg"]; !strings.Contains(why, "appeared on disk") {
		t.Errorf("failed.csv gives %q for late.jpg", why)
	}
	got := files(t, out)
	delete(got, "late.jpg") // not ours: not in the manifest
	checkManifest(t, out, got)
	if len(got) != 1 {
		t.Errorf("files %v, want a.jpg", got)
	}

	r = runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	if b, _ := os.ReadFile(filepath.Join(out, "late.jpg")); string(b) != string(theirs) {
		t.Errorf("late.jpg holds %q after the rerun", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "late-2.jpg")); !strings.Contains(string(b), "image /late.jpg") {
		t.Errorf("late-2.jpg holds %q, want the file", b)
	}
	if m := manifest(t, out); m["late-2.jpg"] == nil || m["late-2.jpg"][0] != srv.URL+"/late.jpg" || m["late.jpg"] != nil {
		t.Errorf("manifest after the rerun: %v", m)
	}
}
