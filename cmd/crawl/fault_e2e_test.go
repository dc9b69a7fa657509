package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
)

// The tests in this file run crawl against the fault-injecting server of
// internal/faultserver and check the bytes on disk, the manifest, the
// summary, the exit code and what the server saw.

func newFaultServer(t *testing.T) *fault.Server {
	t.Helper()
	s := fault.New()
	t.Cleanup(s.Close)
	return s
}

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// downloaded is files without failed.csv, which is crawl's own.
func downloaded(t *testing.T, out string) map[string]string {
	t.Helper()
	m := files(t, out)
	delete(m, "failed.csv")
	return m
}

// finalFiles is downloaded without the *.part and *.part.meta of
// unfinished downloads.
func finalFiles(t *testing.T, out string) map[string]string {
	t.Helper()
	m := downloaded(t, out)
	for p := range m {
		if strings.HasSuffix(p, ".part") || strings.HasSuffix(p, ".part.meta") {
			delete(m, p)
		}
	}
	return m
}

// checkFiles checks that exactly want (path → SHA-256) is on disk under
// out, with no *.part left.
func checkFiles(t *testing.T, out string, want map[string]string) {
	t.Helper()
	got := downloaded(t, out)
	for p, sum := range want {
		if got[p] != sum {
			t.Errorf("%s: sha256 %q, want %s", p, got[p], sum)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected file %s", p)
		}
	}
}

// checkWhole checks that every final file on disk is one of want, whole:
// what a run that was killed or failed may leave.
func checkWhole(t *testing.T, out string, want map[string]string) {
	t.Helper()
	for p, sum := range finalFiles(t, out) {
		if w, ok := want[p]; !ok {
			t.Errorf("unexpected file %s", p)
		} else if sum != w {
			t.Errorf("%s on disk is corrupt: sha256 %s, want %s", p, sum, w)
		}
	}
}

// checkManifestWhole checks that every row of the manifest names a file
// that is on disk, whole, with the row's size and hash.
func checkManifestWhole(t *testing.T, out string, want map[string]string) {
	t.Helper()
	onDisk := finalFiles(t, out)
	for path, row := range manifest(t, out) {
		if onDisk[path] == "" {
			t.Errorf("manifest row for %s, which is not on disk", path)
			continue
		}
		if row[3] != onDisk[path] || row[3] != want[path] {
			t.Errorf("manifest row for %s: sha256 %s; on disk %s; want %s", path, row[3], onDisk[path], want[path])
		}
		st, err := os.Stat(filepath.Join(out, filepath.FromSlash(path)))
		if err != nil || strconv.FormatInt(st.Size(), 10) != row[2] {
			t.Errorf("manifest row for %s: %s bytes, file: %v %v", path, row[2], st, err)
		}
	}
}

// summaryHas checks that the run's stderr holds each of wants.
func summaryHas(t *testing.T, r result, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stderr)
		}
	}
}

// checkFailedCSV checks that OUT/failed.csv lists exactly the URLs given,
// each with a reason.
func checkFailedCSV(t *testing.T, out string, urls ...string) {
	t.Helper()
	got := failedReasons(t, out)
	for u, reason := range got {
		if reason == "" {
			t.Errorf("failed.csv: no reason for %s", u)
		}
	}
	for _, u := range urls {
		if _, ok := got[u]; !ok {
			t.Errorf("failed.csv lacks %s", u)
		}
	}
	if len(got) != len(urls) {
		t.Errorf("failed.csv has %d URLs, want %d", len(got), len(urls))
	}
}

// running is a crawl started by startCrawl.
type running struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed once crawl has exited and been reaped
}

// startCrawl starts crawl in its own process group, keeping its stderr. At
// the end of the test it is killed, stages and all, if still running.
func startCrawl(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	r := &running{cmd: crawlCmd(t, dir, args...), stderr: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
	})
	return r
}

// signal sends sig to crawl's whole process group, as a terminal does.
func (r *running) signal(sig syscall.Signal) { syscall.Kill(-r.cmd.Process.Pid, sig) }

// killGroup kills crawl and its stages with SIGKILL and waits for crawl.
func (r *running) killGroup() {
	r.signal(syscall.SIGKILL)
	<-r.exited
}

// code waits for crawl to exit and returns its exit code.
func (r *running) code() int {
	<-r.exited
	return r.cmd.ProcessState.ExitCode()
}

// partSize is the size of rel's .part under out, -1 if there is none.
func partSize(out, rel string) int64 {
	st, err := os.Stat(filepath.Join(out, rel+".part"))
	if err != nil {
		return -1
	}
	return st.Size()
}

// since returns the requests for path from the n-th on.
func since(s *fault.Server, path string, n int) []fault.Request {
	r := s.Requests(path)
	if n > len(r) {
		return nil
	}
	return r[n:]
}

// TestFaultRetries: 5xx and 429 are retried with growing waits, Retry-After
// (in seconds and as a date) is obeyed, --retries caps it all; the summary
// names every URL that failed and why, and the exit code is 1.
func TestFaultRetries(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	body := func(name string) []byte { return fault.Bytes(name, 20000) }
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	s.File("/flaky.jpg", fault.File{Body: body("flaky"), Faults: fault.Times(2, fault.Fault{Kind: fault.Status, Status: 503})})
	s.File("/busy.jpg", fault.File{Body: body("busy"), Faults: []fault.Fault{{Kind: fault.Status, Status: 429, RetryAfter: "1"}}})
	s.File("/dated.jpg", fault.File{Body: body("dated"), Faults: []fault.Fault{{Kind: fault.Status, Status: 503, RetryAfter: date}}})
	s.File("/down.jpg", fault.File{Always: &fault.Fault{Kind: fault.Status, Status: 500}})
	s.File("/limited.jpg", fault.File{Always: &fault.Fault{Kind: fault.Status, Status: 429, RetryAfter: "1"}})
	s.File("/gone.jpg", fault.File{Always: &fault.Fault{Kind: fault.Status, Status: 404}})
	s.File("/cut.jpg", fault.File{Body: body("cut"), ETag: `"cut"`, Always: &fault.Fault{Kind: fault.Truncate, After: 1000}})
	s.File("/dropped.jpg", fault.File{Always: &fault.Fault{Kind: fault.Drop}})

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--out", out, "--quiet", "--retries", "2", "--retry-wait", "100ms"}
	for _, p := range []string{"flaky", "busy", "dated", "down", "limited", "gone", "cut", "dropped"} {
		args = append(args, s.URL("/"+p+".jpg"))
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 1)

	checkFiles(t, out, map[string]string{
		"flaky.jpg": hexSum(body("flaky")),
		"busy.jpg":  hexSum(body("busy")),
		"dated.jpg": hexSum(body("dated")),
	})
	checkManifest(t, out, finalFiles(t, out))
	summaryHas(t, r,
		"3 downloaded", "5 failed",
		"failed "+s.URL("/down.jpg")+": http 500 Internal Server Error (gave up after 2 retries)",
		"failed "+s.URL("/limited.jpg")+": http 429 Too Many Requests (gave up after 2 retries)",
		"failed "+s.URL("/gone.jpg")+": http 404 Not Found",
		"failed "+s.URL("/cut.jpg")+": ",
		"failed "+s.URL("/dropped.jpg")+": ",
	)
	if !strings.Contains(r.stderr, "unexpected EOF") {
		t.Errorf("summary does not say the body of cut.jpg ended early:\n%s", r.stderr)
	}

	for path, want := range map[string]int{
		"/flaky.jpg": 3, "/busy.jpg": 2, "/dated.jpg": 2, "/down.jpg": 3,
		"/limited.jpg": 3, "/gone.jpg": 1, "/cut.jpg": 3,
	} {
		if n := s.Count(path); n != want {
			t.Errorf("%s requested %d times, want %d", path, n, want)
		}
	}
	// Go's transport itself tries a request again on another connection
	// when a reused one is closed before any answer, so each of the 3
	// tries may reach the server more than once.
	if n := s.Count("/dropped.jpg"); n < 3 {
		t.Errorf("/dropped.jpg requested %d times, want at least 3", n)
	}
	checkFailedCSV(t, out, s.URL("/down.jpg"), s.URL("/limited.jpg"), s.URL("/gone.jpg"), s.URL("/cut.jpg"), s.URL("/dropped.jpg"))
	// Retry-After is waited out; other waits grow from --retry-wait
	// (jitter keeps each at least half of 100ms·2^n).
	gaps := func(path string) []time.Duration {
		var d []time.Duration
		reqs := s.Requests(path)
		for i := 1; i < len(reqs); i++ {
			d = append(d, reqs[i].Start.Sub(reqs[i-1].Start))
		}
		return d
	}
	// The date has whole seconds, and the retry must not come before it.
	if when, _ := http.ParseTime(date); len(s.Requests("/dated.jpg")) == 2 && s.Requests("/dated.jpg")[1].Start.Before(when) {
		t.Errorf("/dated.jpg retried at %v, before the Retry-After date %v", s.Requests("/dated.jpg")[1].Start, when)
	}
	for _, p := range []string{"/busy.jpg", "/limited.jpg"} {
		for i, g := range gaps(p) {
			if g < time.Second {
				t.Errorf("%s: retry %d after %v, Retry-After asked for at least 1s", p, i+1, g)
			}
		}
	}
	for _, p := range []string{"/down.jpg", "/flaky.jpg"} {
		for i, g := range gaps(p) {
			if least := 50 * time.Millisecond << i; g < least {
				t.Errorf("%s: retry %d after %v, want at least %v", p, i+1, g, least)
			}
		}
	}
}

// TestFaultSelectorAnswers crawls a listing page whose image selector
// finds error pages, an empty body, redirects (a chain, a loop, too many,
// to another host) and a chunked file; a second listing page is a gzip
// bomb.
func TestFaultSelectorAnswers(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	img := func(name string) []byte { return fault.Bytes(name, 30000) }
	names := []string{"ok", "html", "disguised", "empty", "chunked", "hop", "loop", "far", "there"}
	var list strings.Builder
	list.WriteString("<html><head><title>photos</title></head><body>\n")
	for _, n := range names {
		fmt.Fprintf(&list, "<img src=\"/img/%s.jpg\">\n", n)
	}
	list.WriteString("</body></html>\n")
	s.File("/list/1.html", fault.File{Body: []byte(list.String()), ContentType: "text/html; charset=utf-8"})
	s.File("/list/2.html", fault.File{Body: fault.GzipBomb(64 << 20), ContentType: "text/html", ContentEncoding: "gzip"})

	jpeg := "image/jpeg"
	s.File("/img/ok.jpg", fault.File{Body: img("ok"), ContentType: jpeg})
	s.File("/img/html.jpg", fault.File{Body: img("html"), ContentType: jpeg, Always: &fault.Fault{Kind: fault.HTML}})
	s.File("/img/disguised.jpg", fault.File{Body: img("disguised"), ContentType: jpeg, Always: &fault.Fault{Kind: fault.Disguised}})
	s.File("/img/empty.jpg", fault.File{ContentType: jpeg})
	s.File("/img/chunked.jpg", fault.File{Body: img("chunked"), ContentType: jpeg, Chunked: true})
	s.Redirect("/img/hop.jpg", "/r/1", http.StatusFound)
	s.Redirect("/r/1", "/r/2", http.StatusMovedPermanently)
	s.Redirect("/r/2", "/img/real.jpg", http.StatusTemporaryRedirect)
	s.File("/img/real.jpg", fault.File{Body: img("real"), ContentType: jpeg})
	s.Redirect("/img/loop.jpg", "/l/1", http.StatusFound)
	s.Redirect("/l/1", "/l/2", http.StatusFound)
	s.Redirect("/l/2", "/img/loop.jpg", http.StatusFound)
	for i := range 11 {
		from, to := fmt.Sprintf("/far/%d", i), fmt.Sprintf("/far/%d", i+1)
		if i == 0 {
			from = "/img/far.jpg"
		}
		s.Redirect(from, to, http.StatusFound)
	}
	s.File("/far/11", fault.File{Body: img("far"), ContentType: jpeg})
	s.Redirect("/img/there.jpg", s.OtherURL("/img/ok.jpg"), http.StatusFound)

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "--list-url", s.URL("/list/{page}.html"), "--pages", "1-2",
		"--images", "//img/@src", "--out", out, "--quiet", "--retry-wait", "20ms")
	mustCode(t, r, 1)

	checkFiles(t, out, map[string]string{
		"ok.jpg":      hexSum(img("ok")),
		"chunked.jpg": hexSum(img("chunked")),
		"hop.jpg":     hexSum(img("real")),
		"there.jpg":   hexSum(img("ok")),
	})
	checkManifest(t, out, finalFiles(t, out))
	summaryHas(t, r,
		"4 downloaded", "6 failed",
		"failed "+s.URL("/img/html.jpg")+": got an HTML page",
		"failed "+s.URL("/img/disguised.jpg")+": got an HTML page",
		"failed "+s.URL("/img/empty.jpg")+": empty body",
		"failed "+s.URL("/img/loop.jpg")+": ",
		"redirect loop",
		"failed "+s.URL("/img/far.jpg")+": ",
		"stopped after 10 redirects",
		"failed "+s.URL("/list/2.html")+": ",
		"larger than 16777216 bytes: body too large: over the page cap of 16MiB (--max-page-size)",
	)
	// Failures that another try would not mend are not retried.
	for _, p := range []string{"/img/html.jpg", "/img/disguised.jpg", "/img/empty.jpg", "/img/loop.jpg", "/img/far.jpg", "/list/2.html"} {
		if n := s.Count(p); n != 1 {
			t.Errorf("%s requested %d times, want 1", p, n)
		}
	}
	checkFailedCSV(t, out, s.URL("/img/html.jpg"), s.URL("/img/disguised.jpg"), s.URL("/img/empty.jpg"),
		s.URL("/img/loop.jpg"), s.URL("/img/far.jpg"), s.URL("/list/2.html"))
	if n := s.Count("/far/10"); n != 1 || s.Count("/far/11") != 0 {
		t.Errorf("far.jpg: the 10th redirect followed %d times, the 11th %d times", n, s.Count("/far/11"))
	}
	var other int
	for _, req := range s.All() {
		if req.Host == s.OtherHost() && req.Path == "/img/ok.jpg" {
			other++
		}
	}
	if other != 1 {
		t.Errorf("the redirect to another host reached it %d times", other)
	}
}

// TestFaultBodiesResumed: bodies cut short, reset or stalled are never
// renamed into place; they are resumed with Range and If-Range where the
// server allows it and restarted where it ignores Range or gives no
// validator, and every file ends whole.
func TestFaultBodiesResumed(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const size = 1536 << 10
	body := func(name string) []byte { return fault.Bytes(name, size) }
	lm := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	type file struct {
		f         fault.File
		wantRange string // the Range of the second request ("" none)
		wantIfR   string
		whole     bool // the second answer sends the whole file
	}
	files := map[string]file{
		"trunc": {fault.File{ETag: `"t"`, Faults: []fault.Fault{{Kind: fault.Truncate, After: 600000}}},
			"bytes=600000-", `"t"`, false},
		"stall": {fault.File{ETag: `"s"`, Faults: []fault.Fault{{Kind: fault.Stall, After: 700000}}},
			"bytes=700000-", `"s"`, false},
		"reset": {fault.File{LastModified: lm, Faults: []fault.Fault{{Kind: fault.Reset, After: 500000}}},
			"", lm.Format(http.TimeFormat), false},
		"norange": {fault.File{ETag: `"n"`, IgnoreRange: true, Faults: []fault.Fault{{Kind: fault.Truncate, After: 400000}}},
			"bytes=400000-", `"n"`, true},
		"chunked": {fault.File{ETag: `"c"`, Chunked: true, Faults: []fault.Fault{{Kind: fault.Truncate, After: 300000}}},
			"bytes=300000-", `"c"`, false},
		"novalidator": {fault.File{Faults: []fault.Fault{{Kind: fault.Truncate, After: 800000}}},
			"", "", true},
	}
	want := map[string]string{}
	args := []string{"get", "--out", filepath.Join(t.TempDir(), "out"), "--quiet", "--retry-wait", "20ms",
		"--timeout", "2s", "--per-host", "3"}
	out := args[2]
	for name, f := range files {
		f.f.Body = body(name)
		f.f.ContentType = "video/mp4"
		s.File("/"+name+".mp4", f.f)
		want[name+".mp4"] = hexSum(f.f.Body)
		args = append(args, s.URL("/"+name+".mp4"))
	}
	r := runCrawl(t, filepath.Dir(out), "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, want)
	checkManifest(t, out, want)

	for name, f := range files {
		reqs := s.Requests("/" + name + ".mp4")
		if len(reqs) != 2 {
			t.Errorf("%s: %d requests, want 2", name, len(reqs))
			continue
		}
		second := reqs[1]
		if name == "reset" {
			// The reset can come before all 500000 bytes are read: any
			// range will do, as long as it is checked by the date.
			if !strings.HasPrefix(second.Range, "bytes=") || second.Range == "bytes=0-" {
				t.Errorf("reset: resumed with Range %q", second.Range)
			}
		} else if second.Range != f.wantRange {
			t.Errorf("%s: second request has Range %q, want %q", name, second.Range, f.wantRange)
		}
		if second.IfRange != f.wantIfR {
			t.Errorf("%s: second request has If-Range %q, want %q", name, second.IfRange, f.wantIfR)
		}
		if sent := second.Sent; f.whole != (sent == size) {
			t.Errorf("%s: second answer sent %d of %d bytes", name, sent, size)
		}
	}
	for _, h := range []string{s.Host(), s.OtherHost()} {
		if p := s.PeakRequests(h); p > 3 {
			t.Errorf("%s saw %d requests at once, --per-host 3", h, p)
		}
	}
}

// TestFaultSlowBodyFlows: a body that takes longer than --timeout in all,
// but is never silent that long, is read to its end in one request. The
// margins are wide (a byte every 20 ms against a 3 s timeout, 6 s in all)
// so that a busy machine does not make a silence of its own.
func TestFaultSlowBodyFlows(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	f := fault.File{ETag: `"k"`, Rate: 160 << 10, ContentType: "video/mp4", Body: fault.Bytes("trickle", 1<<20)}
	s.File("/trickle.mp4", f)
	out := filepath.Join(t.TempDir(), "out")
	r := runCrawl(t, filepath.Dir(out), "", "get", "--out", out, "--quiet", "--retry-wait", "20ms",
		"--timeout", "3s", s.URL("/trickle.mp4"))
	mustCode(t, r, 0)
	want := map[string]string{"trickle.mp4": hexSum(f.Body)}
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	if reqs := s.Requests("/trickle.mp4"); len(reqs) != 1 {
		for i, q := range reqs {
			t.Logf("request %d: %v to %v, sent %d bytes, client gone %v", i+1,
				q.Start.Format("15:04:05.000"), q.End.Format("15:04:05.000"), q.Sent, q.ClientGone)
		}
		t.Errorf("%d requests; a slow body that flows must not be cut\nstderr:\n%s", len(reqs), r.stderr)
	}
}

// TestFaultResumeAcrossRuns kills crawl with kill -9 while large files are
// half done, then changes them on the server between runs: the next run
// resumes a file that did not change (Range + If-Range), starts over one
// whose ETag changed or whose range is refused (416), and never appends to
// bytes of another version, even when the ETag changes back.
func TestFaultResumeAcrossRuns(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const size = 3 << 20
	v1 := map[string][]byte{}
	v2 := map[string][]byte{}
	names := []string{"same", "changed", "refused", "flipflop"}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--out", out, "--quiet", "--retry-wait", "20ms", "--workers", "4", "--per-host", "4"}
	for _, n := range names {
		v1[n], v2[n] = fault.Bytes(n+"1", size), fault.Bytes(n+"2", size)
		s.File("/"+n+".bin", fault.File{Body: v1[n], ETag: `"1"`, Rate: 4 << 20})
		args = append(args, s.URL("/"+n+".bin"))
	}
	all := map[string]string{}
	for _, n := range names {
		all[n+".bin"] = hexSum(v1[n])
		all[n+".bin#2"] = hexSum(v2[n])
	}
	isVersion := func(n string, b []byte) {
		t.Helper()
		got := files(t, out)[n+".bin"]
		if got != hexSum(b) {
			t.Errorf("%s.bin: sha256 %q, want %s", n, got, hexSum(b))
		}
	}

	// Run 1: killed once every part holds more than 1 MiB.
	run := startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool {
		for _, n := range names {
			if partSize(out, n+".bin") < 1100<<10 {
				return false
			}
		}
		return true
	})
	run.killGroup()
	if f := finalFiles(t, out); len(f) != 0 {
		t.Fatalf("files renamed into place before they were whole: %v", f)
	}
	before := map[string]int{}
	for _, n := range names {
		before[n] = s.Count("/" + n + ".bin")
	}

	// Between the runs: "changed" gets a new version, "refused" answers
	// its range with 416, "flipflop" changes and trickles.
	s.File("/same.bin", fault.File{Body: v1["same"], ETag: `"1"`})
	s.File("/changed.bin", fault.File{Body: v2["changed"], ETag: `"2"`})
	s.File("/refused.bin", fault.File{Body: v1["refused"], ETag: `"1"`,
		Faults: []fault.Fault{{Kind: fault.Status, Status: http.StatusRequestedRangeNotSatisfiable}}})
	s.File("/flipflop.bin", fault.File{Body: v2["flipflop"], ETag: `"2"`, Rate: 256 << 10})

	// Run 2: killed once flipflop started over and holds less than 1 MiB
	// of its new version.
	run = startCrawl(t, dir, args...)
	waitFor(t, 60*time.Second, func() bool {
		for _, n := range []string{"same.bin", "changed.bin", "refused.bin"} {
			if _, err := os.Stat(filepath.Join(out, n)); err != nil {
				return false
			}
		}
		n := partSize(out, "flipflop.bin")
		return len(since(s, "/flipflop.bin", before["flipflop"])) > 0 && n > 64<<10 && n < 900<<10
	})
	run.killGroup()
	checkWhole(t, out, map[string]string{"same.bin": all["same.bin"], "changed.bin": all["changed.bin#2"], "refused.bin": all["refused.bin"]})
	if t.Failed() {
		t.Fatalf("run 2:\n%s", run.stderr)
	}

	same := since(s, "/same.bin", before["same"])
	if len(same) != 1 || !strings.HasPrefix(same[0].Range, "bytes=") || same[0].IfRange != `"1"` ||
		same[0].Status != 206 || same[0].Sent >= size-(1<<20) {
		t.Errorf("same.bin was not resumed: %+v", same)
	}
	changed := since(s, "/changed.bin", before["changed"])
	if len(changed) != 1 || changed[0].IfRange != `"1"` || changed[0].Status != 200 || changed[0].Sent != size {
		t.Errorf("changed.bin was not started over: %+v", changed)
	}
	refused := since(s, "/refused.bin", before["refused"])
	if len(refused) != 2 || refused[0].Status != 416 || refused[1].Range != "" || refused[1].Status != 200 {
		t.Errorf("refused.bin after a 416: %+v", refused)
	}
	flip := since(s, "/flipflop.bin", before["flipflop"])
	if len(flip) != 1 || flip[0].IfRange != `"1"` {
		t.Errorf("flipflop.bin in run 2: %+v", flip)
	}

	// Run 3: flipflop is back to its first version and ETag. The part
	// holds bytes of the second: it must start over, not resume.
	s.File("/flipflop.bin", fault.File{Body: v1["flipflop"], ETag: `"1"`})
	mid := s.Count("/flipflop.bin")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	isVersion("same", v1["same"])
	isVersion("changed", v2["changed"])
	isVersion("refused", v1["refused"])
	isVersion("flipflop", v1["flipflop"])
	if last := since(s, "/flipflop.bin", mid); len(last) != 1 || last[0].Range != "" {
		t.Errorf("flipflop.bin in run 3: %+v, want one request for the whole file", last)
	}
	got := downloaded(t, out)
	if len(got) != len(names) {
		t.Errorf("files %v", got)
	}
	checkManifest(t, out, got)
}

// fsizeEnv names the file size limit (bytes) that init sets on the test
// binary when it runs as crawl: writes past it fail with EFBIG, a disk
// that is full for big files only. It stands in for a full disk where no
// small tmpfs can be mounted.
const fsizeEnv = "CRAWL_E2E_FSIZE"

func init() {
	if v := os.Getenv(fsizeEnv); v != "" && os.Getenv("CRAWL_E2E_MAIN") == "1" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err == nil {
			err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "crawl test: %s=%s: %v\n", fsizeEnv, v, err)
			os.Exit(3)
		}
	}
}

// runCrawlEnv is runCrawl with extra environment variables.
func runCrawlEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := crawlCmd(t, dir, args...)
	cmd.Env = append(cmd.Env, env...)
	return runCmd(t, cmd, "")
}

// TestFaultFullDisk runs crawl on a small tmpfs with too little room left
// for one of its files (or, where no tmpfs can be mounted, under a file
// size limit): that download fails with a clear reason and leaves nothing
// behind, every file on disk is whole, and a rerun after space is freed
// completes without fetching again what is done.
func TestFaultFullDisk(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	want := map[string]string{}
	args := []string{"get", "--quiet", "--retry-wait", "20ms", "--workers", "2"}
	add := func(name string, size int) {
		b := fault.Bytes(name, size)
		s.File("/"+name, fault.File{Body: b, ETag: `"` + name + `"`, ContentType: "image/jpeg"})
		want[name] = hexSum(b)
		args = append(args, s.URL("/"+name))
	}
	add("big.jpg", 4<<20)
	for i := range 6 {
		add(fmt.Sprintf("small%d.jpg", i), 40<<10)
	}

	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	var reason string
	var freeSpace func()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=8m,mode=0755"); err == nil {
		t.Cleanup(func() {
			if err := syscall.Unmount(disk, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", disk, err)
			}
		})
		// Leave 2.5 MiB: room for the state and the small files, not for big.jpg.
		var st syscall.Statfs_t
		if err := syscall.Statfs(disk, &st); err != nil {
			t.Fatal(err)
		}
		ballast := filepath.Join(disk, "ballast")
		if err := os.WriteFile(ballast, make([]byte, int64(st.Bavail)*st.Bsize-(5<<19)), 0o644); err != nil {
			t.Fatal(err)
		}
		reason = "no space left on device"
		freeSpace = func() {
			if err := os.Remove(ballast); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		t.Logf("no tmpfs (%v): a file size limit makes big writes fail instead", err)
		env = []string{fsizeEnv + "=" + strconv.Itoa(2<<20)}
		reason = "file too large"
		freeSpace = func() { env = nil }
	}
	out := filepath.Join(disk, "out")
	args = append(args, "--out", out)

	r := runCrawlEnv(t, dir, env, args...)
	mustCode(t, r, 1)
	if !strings.Contains(r.stderr, "failed "+s.URL("/big.jpg")+": ") || !strings.Contains(r.stderr, reason) {
		t.Errorf("summary does not say big.jpg failed for want of space (%q):\n%s", reason, r.stderr)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		// A small file may fail too, if its name was reserved while the
		// state database could not grow.
		if strings.Contains(line, "  failed ") && !strings.Contains(line, reason) && !strings.Contains(line, "disk is full") {
			t.Errorf("failed for another reason than %q: %s", reason, line)
		}
	}
	checkWhole(t, out, want)
	if _, ok := finalFiles(t, out)["big.jpg"]; ok {
		t.Errorf("big.jpg is on disk")
	}
	for p := range downloaded(t, out) {
		if strings.HasSuffix(p, ".part") {
			t.Errorf("%s left behind by a failed download", p)
		}
	}
	checkManifestWhole(t, out, want)
	done := finalFiles(t, out)
	before := map[string]int{}
	for name := range want {
		before[name] = s.Count("/" + name)
	}

	freeSpace()
	r = runCrawlEnv(t, dir, env, args...)
	mustCode(t, r, 0)
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	for name := range done {
		if s.Count("/"+name) != before[name] {
			t.Errorf("%s was done but fetched again", name)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "failed.csv")); err == nil {
		t.Errorf("failed.csv is still there after a run with no failure")
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fill writes to path until the file system is full and keeps it full,
// taking any room that comes back, until stop is closed; then it removes
// the file.
func fill(t *testing.T, path string, stop <-chan struct{}) (done <-chan struct{}) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer os.Remove(path)
		defer f.Close()
		chunk := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.Write(chunk); err == nil {
				continue
			}
			if _, err := f.Write(chunk[:4096]); err != nil {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	return ch
}

// TestFaultFullDiskState fills the disk while crawl is at work and keeps
// it full, so that the database that must record the failed downloads
// cannot grow either. crawl says it waits for room instead of dropping the
// records (which left the run waiting forever for tasks never settled);
// once space is freed the run ends with exit 1 and every failure named, no
// file is corrupt, and a rerun completes.
func TestFaultFullDiskState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=16m,mode=0755"); err != nil {
		t.Skipf("needs a small tmpfs, which cannot be mounted here (%v); TestFaultFullDisk covers full disks with a file size limit", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(disk, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", disk, err)
		}
	})
	s := newFaultServer(t)
	want := map[string]string{}
	files := map[string]fault.File{}
	out := filepath.Join(disk, "out")
	args := []string{"get", "--out", out, "--quiet", "--retry-wait", "20ms", "--workers", "8", "--per-host", "8"}
	for i := range 16 {
		name := fmt.Sprintf("f%02d.bin", i)
		f := fault.File{Body: fault.Bytes(name, 3<<20), ETag: `"x"`, Rate: 1 << 20}
		if i >= 4 {
			f = fault.File{Body: fault.Bytes(name, 20<<10), ETag: `"x"`, Rate: 10 << 10}
		}
		files[name] = f
		s.File("/"+name, f)
		want[name] = hexSum(f.Body)
		args = append(args, s.URL("/"+name))
	}

	run := startCrawl(t, dir, args...)
	waitFor(t, 30*time.Second, func() bool { return partSize(out, "f00.bin") > 256<<10 })
	stop := make(chan struct{})
	filled := fill(t, filepath.Join(disk, "ballast"), stop)
	// Wait for a record that cannot be stored (or for the end).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case <-run.exited:
		default:
			if !strings.Contains(run.stderr.String(), "trying again until it is stored") {
				continue
			}
			time.Sleep(300 * time.Millisecond) // let the other downloads run into the full disk too
		}
		break
	}
	if !strings.Contains(run.stderr.String(), "trying again") {
		t.Logf("no record waited for room while the disk was full")
	}
	close(stop)
	<-filled
	select {
	case <-run.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the run does not end once there is room again:\n%s", run.stderr)
	}
	stderr := run.stderr.String()
	if code := run.code(); code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "no space left on device") {
		t.Errorf("the summary does not say the disk was full:\n%s", stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		// A name reserved while the database could not grow fails too.
		if strings.Contains(line, "  failed ") && !strings.Contains(line, "no space left on device") && !strings.Contains(line, "disk is full") {
			t.Errorf("failed for another reason: %s", line)
		}
	}
	checkWhole(t, out, want)
	checkManifestWhole(t, out, want)
	for p := range downloaded(t, out) {
		if strings.HasSuffix(p, ".part") {
			t.Errorf("%s left behind by a failed download", p)
		}
	}

	for name, f := range files {
		f.Rate = 0
		s.File("/"+name, f)
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, want)
	checkManifest(t, out, want)
}

// TestFaultKillLoop kills the download stage with kill -9 at random
// moments, four times a run, then interrupts the run, over and over (20
// kills): no file on disk is ever corrupt, the manifest never
// names a file that is not whole, and a last run completes everything.
func TestFaultKillLoop(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	want := map[string]string{}
	files := map[string]fault.File{}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"get", "--out", out, "--quiet", "--retry-wait", "20ms", "--workers", "3", "--per-host", "3"}
	lm := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 30 {
		name := fmt.Sprintf("f%02d.bin", i)
		big := 1<<20 + rng.IntN(1<<20)
		var f fault.File
		switch {
		case i < 20: // large, with an ETag: resumed once past 1 MiB
			f = fault.File{Body: fault.Bytes(name, big), ETag: fmt.Sprintf(`"%d"`, i)}
		case i < 22: // large, with a date only
			f = fault.File{Body: fault.Bytes(name, big), LastModified: lm}
		case i < 24: // large, with no validator: always starts over
			f = fault.File{Body: fault.Bytes(name, big)}
		default:
			f = fault.File{Body: fault.Bytes(name, 1+rng.IntN(64<<10)), ETag: fmt.Sprintf(`"%d"`, i)}
		}
		f.Rate = 1 << (20 + i%4) // 1 to 8 MiB/s: some finish, some resume, some start over
		files[name] = f
		s.File("/"+name, f)
		want[name] = hexSum(f.Body)
		args = append(args, s.URL("/"+name))
	}

	kills := 0
	for run := 1; kills < 20; run++ {
		proc := startCrawl(t, dir, args...)
		prev := 0
		// Four lives of the download stage end with kill -9, the fifth
		// with Ctrl-C (to the whole group, as a terminal sends it).
	lives:
		for life := range 5 {
			var pid int
			for pid == 0 || pid == prev {
				select {
				case <-proc.exited:
					break lives
				case <-time.After(2 * time.Millisecond):
				}
				pid = stagePID(proc.cmd.Process.Pid, "download")
			}
			time.Sleep(time.Duration(10+rng.IntN(300)) * time.Millisecond)
			if life == 4 {
				proc.signal(syscall.SIGINT)
				break
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				kills++
			}
			prev = pid
			checkWhole(t, out, want)
		}
		code := proc.code()
		if code != 130 && code != 0 {
			t.Fatalf("run %d: exit code %d after Ctrl-C\n%s", run, code, proc.stderr)
		}
		checkWhole(t, out, want)
		checkManifestWhole(t, out, want)
		if t.Failed() {
			t.Fatalf("run %d:\n%s", run, proc.stderr)
		}
		if code == 0 && !slices.Contains(args, "--overwrite") {
			// All done before enough kills (a fast machine): go on
			// downloading everything again over the files on disk.
			t.Logf("run %d completed the download; going on with --overwrite", run)
			args = append(args, "--overwrite")
		}
		if run > 20 {
			t.Fatalf("%d kills in %d runs", kills, run)
		}
	}

	// The last run, at full speed, completes everything.
	for name, f := range files {
		f.Rate = 0
		s.File("/"+name, f)
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	checkFiles(t, out, want)
	checkManifest(t, out, want)
	var ranges int
	for name := range files {
		ranges += len(s.Ranges("/" + name))
	}
	t.Logf("%d kills; %d requests resumed a part with Range", kills, ranges)
}

// TestFaultMaxSize: files are streamed, capped only by --max-size: one
// larger than the cap on pages (--max-page-size) is downloaded whole; with --max-size,
// larger files (announced or not) are skipped and reported, nothing of
// them kept.
func TestFaultMaxSize(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	huge := bytes.Repeat(fault.Bytes("huge", 1<<20), 33)
	s.File("/huge.mp4", fault.File{Body: huge, ContentType: "video/mp4", Chunked: true})
	two := fault.Bytes("two", 2<<20)
	s.File("/known.mp4", fault.File{Body: two, ContentType: "video/mp4"})
	s.File("/unknown.mp4", fault.File{Body: two, ContentType: "video/mp4", Chunked: true})
	small := fault.Bytes("small", 1000)
	s.File("/small.mp4", fault.File{Body: small, ContentType: "video/mp4"})
	dir := t.TempDir()

	out := filepath.Join(dir, "big")
	r := runCrawl(t, dir, "", "get", "--out", out, "--quiet", s.URL("/huge.mp4"))
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"huge.mp4": hexSum(huge)})

	out = filepath.Join(dir, "capped")
	r = runCrawl(t, dir, "", "get", "--out", out, "--quiet", "--max-size", "1MB",
		s.URL("/known.mp4"), s.URL("/unknown.mp4"), s.URL("/small.mp4"))
	mustCode(t, r, 0)
	checkFiles(t, out, map[string]string{"small.mp4": hexSum(small)})
	checkManifest(t, out, map[string]string{"small.mp4": hexSum(small)})
	summaryHas(t, r, "2 skipped as larger than --max-size", "skipped "+s.URL("/known.mp4"), "skipped "+s.URL("/unknown.mp4"))
}
