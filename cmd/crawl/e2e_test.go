package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"crawl"
)

// The end-to-end tests run this test binary as the crawl command: with
// CRAWL_E2E_MAIN=1 in its environment it is crawl's main, and so are the
// stage processes it starts.
func TestMain(m *testing.M) {
	if os.Getenv("CRAWL_E2E_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// result is what one crawl command did.
type result struct {
	code           int
	stdout, stderr string
}

func crawlCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CRAWL_E2E_MAIN=1")
	return cmd
}

// runCrawl runs crawl with args in dir and waits for it.
func runCrawl(t *testing.T, dir string, stdin string, args ...string) result {
	t.Helper()
	return runCmd(t, crawlCmd(t, dir, args...), stdin)
}

// runCmd runs a crawl command made by crawlCmd and waits for it.
func runCmd(t *testing.T, cmd *exec.Cmd, stdin string) result {
	t.Helper()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run crawl: %v", err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func mustCode(t *testing.T, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstderr:\n%s", r.code, want, r.stderr)
	}
}

// files lists the regular files under out (paths relative, '/'), leaving
// out the run's state, manifest and failed.csv.
func files(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".crawl" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "manifest.csv" || rel == "failed.csv" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return m
}

// checkBadUsage runs crawl with args and --out out, in dir, and checks
// that it is bad usage: exit code 2, one line on stderr naming want, and
// no out created.
func checkBadUsage(t *testing.T, dir, out, want string, args ...string) {
	t.Helper()
	r := runCrawl(t, dir, "", append(append([]string(nil), args...), "--out", out)...)
	mustCode(t, r, 2)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q: want one line naming %q", r.stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out was created (%v)", err)
	}
}

// The header rows of the reports a run writes in OUT.
const (
	manifestHeader = "url,path,bytes,sha256,content_type,source"
	failedHeader   = "url,reason,source"
)

// reportRows reads the CSV report OUT/name, checks that its first row is
// header (columns joined by commas) and returns the rows after it.
func reportRows(t *testing.T, out, name, header string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != header {
		t.Fatalf("%s: %q (%v), want the header %s", name, rows, err, header)
	}
	return rows[1:]
}

// manifest reads OUT/manifest.csv as path → row.
func manifest(t *testing.T, out string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, r := range reportRows(t, out, "manifest.csv", manifestHeader) {
		m[r[1]] = r
	}
	return m
}

// failedReasons reads OUT/failed.csv as url → reason.
func failedReasons(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range reportRows(t, out, "failed.csv", failedHeader) {
		m[r[0]] = r[1]
	}
	return m
}

// checkManifest checks that the manifest lists exactly the files on disk,
// with their sizes and hashes.
func checkManifest(t *testing.T, out string, onDisk map[string]string) {
	t.Helper()
	m := manifest(t, out)
	if len(m) != len(onDisk) {
		t.Errorf("manifest has %d rows, %d files on disk", len(m), len(onDisk))
	}
	for path, sum := range onDisk {
		row, ok := m[path]
		if !ok {
			t.Errorf("manifest lacks %s", path)
			continue
		}
		if row[3] != sum {
			t.Errorf("manifest sha256 of %s = %s, file has %s", path, row[3], sum)
		}
	}
}

func demoFileSum(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestGalleryCrawl(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(demoArgs(t, "gallery", srv.URL), "--out", out, "--per-host", "3", "--quiet")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)

	got := files(t, out)
	if want := crawl.DemoExpected["gallery"].Files; len(got) != want {
		t.Fatalf("%d files, want %d: %v\n%s", len(got), want, got, r.stderr)
	}
	for path, sum := range got {
		if !strings.HasPrefix(path, "gallery/") {
			t.Errorf("unexpected file %s", path)
			continue
		}
		if want := demoFileSum(t, "img/"+strings.TrimPrefix(path, "gallery/")); sum != want {
			t.Errorf("%s: sha256 %s, want %s", path, sum, want)
		}
	}
	checkManifest(t, out, got)
	for path := range got {
		if n := cnt.Hits("/img/" + strings.TrimPrefix(path, "gallery/")); n != 1 {
			t.Errorf("%s fetched %d times", path, n)
		}
	}
	if n := cnt.Hits("/ads/x.html"); n != 0 {
		t.Errorf("decoy link fetched %d times", n)
	}
	if n := cnt.Hits("/img/logo.png"); n != 0 {
		t.Errorf("logo outside the selector fetched %d times", n)
	}
	if p := cnt.Peak(); p > 3 {
		t.Errorf("server saw %d requests at once, --per-host 3", p)
	}
	if !strings.Contains(r.stderr, "46 downloaded") {
		t.Errorf("summary: %s", r.stderr)
	}

	// A rerun of a finished crawl fetches no file again, and leaves the
	// manifest as it was.
	before := cnt.Snapshot()
	manifest, err := os.ReadFile(filepath.Join(out, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r = runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	if again, err := os.ReadFile(filepath.Join(out, "manifest.csv")); err != nil || string(again) != string(manifest) {
		t.Errorf("the rerun changed manifest.csv (%v):\n%s\nwas\n%s", err, again, manifest)
	}
	for path := range got {
		p := "/img/" + strings.TrimPrefix(path, "gallery/")
		if cnt.Hits(p) != before[p] {
			t.Errorf("rerun fetched %s again", p)
		}
	}
	if !strings.Contains(r.stderr, "0 downloaded") || !strings.Contains(r.stderr, "46 skipped") {
		t.Errorf("rerun summary: %s", r.stderr)
	}
	checkManifest(t, out, files(t, out))
}

func TestGBKTitles(t *testing.T) {
	srv, _ := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", append(demoArgs(t, "movies", srv.URL), "--out", out, "--quiet")...)
	mustCode(t, r, 0)
	got := files(t, out)
	exp := crawl.DemoExpected["movies"]
	if len(got) != exp.Files {
		t.Fatalf("%d files, want %d: %v", len(got), exp.Files, got)
	}
	folders := map[string]int{}
	for path := range got {
		parts := strings.Split(path, "/")
		if len(parts) != 3 || parts[0] != "movies" {
			t.Fatalf("unexpected path %q", path)
		}
		folders[parts[1]]++
	}
	for _, title := range exp.Titles {
		want := strings.ReplaceAll(title, "/", "_")
		if folders[want] != 2 {
			t.Errorf("folder %q has %d files, want 2 (folders: %v)", want, folders[want], folders)
		}
	}
	checkManifest(t, out, got)
}

func TestGetListAndURLs(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	list := "# demo images\n\n" + srv.URL + "/img/g1-1.png\n  " + srv.URL + "/img/g1-2.png  \n"
	r := runCrawl(t, dir, list, "get", "--list", "-", "--out", out, "--quiet", srv.URL+"/img/logo.png", srv.URL+"/img/g1-1.png")
	mustCode(t, r, 0)
	got := files(t, out)
	for _, name := range []string{"g1-1.png", "g1-2.png", "logo.png"} {
		if got[name] != demoFileSum(t, "img/"+name) {
			t.Errorf("%s: got %q", name, got[name])
		}
	}
	if len(got) != 3 {
		t.Errorf("files %v", got)
	}
	if n := cnt.Hits("/img/g1-1.png"); n != 1 {
		t.Errorf("a URL given twice was fetched %d times", n)
	}
	checkManifest(t, out, got)
}

func TestFailedDownloadExit1(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	missing := srv.URL + "/img/missing.png"
	r := runCrawl(t, dir, "", "get", "--out", out, "--quiet", "--retry-wait", "1ms", srv.URL+"/img/logo.png", missing, srv.URL+"/private/x.png")
	mustCode(t, r, 1)
	if !strings.Contains(r.stderr, missing) || !strings.Contains(r.stderr, "404") {
		t.Errorf("summary does not name the failed URL and reason:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "robots") {
		t.Errorf("summary does not say robots.txt forbids /private/:\n%s", r.stderr)
	}
	if n := cnt.Hits("/private/x.png"); n != 0 {
		t.Errorf("robots.txt-disallowed URL fetched %d times", n)
	}
	if n := cnt.Hits("/img/missing.png"); n != 1 {
		t.Errorf("404 fetched %d times, want 1 (no retry)", n)
	}
	got := files(t, out)
	if len(got) != 1 {
		t.Errorf("files %v", got)
	}
	checkManifest(t, out, got)
}

// TestKillWholeGroup kills the supervisor and every stage with kill -9 in
// the middle of a crawl; the same command then finishes the job without
// fetching finished files again.
func TestKillWholeGroup(t *testing.T) {
	g := genSite{pages: 3, details: 5, images: 10, delay: 15 * time.Millisecond}
	srv, cnt := serve(t, g)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--out", out, "--quiet", "--workers", "4", "--per-host", "4")

	cmd := crawlCmd(t, dir, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return len(files(t, out)) >= 30 })
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	done := files(t, out)
	before := cnt.Snapshot()

	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	checkSite(t, g, got)
	for path := range done {
		if strings.HasSuffix(path, ".part") {
			continue
		}
		p := "/img/" + filepath.Base(path)
		if cnt.Hits(p) != before[p] {
			t.Errorf("%s was on disk before the rerun but fetched again", path)
		}
	}
	checkManifest(t, out, got)
}

// TestStageKilled kills the download stage process mid-crawl: the
// supervisor restarts it and nothing is lost.
func TestStageKilled(t *testing.T) {
	g := genSite{pages: 2, details: 5, images: 10, delay: 15 * time.Millisecond}
	srv, _ := serve(t, g)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--out", out, "--quiet", "--workers", "4")
	cmd := crawlCmd(t, dir, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	waitFor(t, 60*time.Second, func() bool {
		pid = stagePID(cmd.Process.Pid, "download")
		return pid > 0 && len(files(t, out)) >= 10
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("crawl: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "restarting") {
		t.Errorf("supervisor did not say it restarted the stage:\n%s", errb.String())
	}
	got := files(t, out)
	checkSite(t, g, got)
	checkManifest(t, out, got)
}

// TestSecondRunRefused: a second run into an OUT that a run is using fails
// with exit 2, fetches nothing and leaves no stage process behind; the
// first run goes on to its end.
func TestSecondRunRefused(t *testing.T) {
	release := make(chan struct{})
	var asked atomic.Int32
	body := bytes.Repeat([]byte("slow file "), 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		<-release
		w.Write(body)
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	first := crawlCmd(t, dir, "get", srv.URL+"/slow.bin", "--out", out, "--quiet")
	var errb bytes.Buffer
	first.Stderr = &errb
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return asked.Load() == 1 })
	stateDir := filepath.Join(out, ".crawl")
	before := stagesOf(stateDir)
	if len(before) != 1 {
		t.Fatalf("%d stage processes on %s, want the first run's one", len(before), stateDir)
	}

	r := runCrawl(t, dir, "", "get", srv.URL+"/other.bin", "--out", out, "--quiet")
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "another crawl is running") {
		t.Errorf("second run says:\n%s", r.stderr)
	}
	if after := stagesOf(stateDir); len(after) != 1 || after[0] != before[0] {
		t.Errorf("stage processes on %s after the second run: %v, want only %v", stateDir, after, before)
	}

	close(release)
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, errb.String())
	}
	if got := files(t, out); got["slow.bin"] != fmt.Sprintf("%x", sha256.Sum256(body)) {
		t.Errorf("files after the first run: %v", got)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("server asked %d times, want 1 (the second run fetched nothing)", n)
	}
}

// stagesOf lists the stage processes, of any parent, that work on the state
// folder stateDir.
func stagesOf(stateDir string) []int {
	var stages []int
	for _, pid := range pids() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 3 && args[1] == "__stage" && args[3] == stateDir {
			stages = append(stages, pid)
		}
	}
	return stages
}

// pids lists the processes running, from /proc.
func pids() []int {
	var all []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err == nil {
			all = append(all, pid)
		}
	}
	return all
}

// checkSite checks that every image of g is on disk, whole, once.
func checkSite(t *testing.T, g genSite, got map[string]string) {
	t.Helper()
	exp := g.expected()
	for path := range got {
		if strings.HasSuffix(path, ".part") {
			t.Errorf("%s left behind", path)
		}
	}
	if len(got) != len(exp) {
		t.Errorf("%d files, want %d", len(got), len(exp))
	}
	for p, sum := range exp {
		var page, d, i int
		fmt.Sscanf(p, "/img/%d-%d-%d.jpg", &page, &d, &i)
		path := fmt.Sprintf("%d/%s", page, filepath.Base(p))
		if got[path] != sum {
			t.Errorf("%s: sha256 %q, want %s", path, got[path], sum)
		}
	}
}

// stagePID finds the stage process of the given name among parent's children.
func stagePID(parent int, stage string) int {
	for _, pid := range pids() {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != fmt.Sprint(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && args[1] == "__stage" && args[2] == stage {
			return pid
		}
	}
	return 0
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBadInput(t *testing.T) {
	srv, cnt := serveDemo(t)
	good := demoArgs(t, "gallery", srv.URL)
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(good); i++ {
			if good[i] == flag {
				i++
				continue
			}
			out = append(out, good[i])
		}
		return out
	}
	with := func(flag, value string) []string {
		out := without(flag)
		return append(out, flag, value)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("pages: 1-3\nno_such_flag: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("pages: [1-3\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no images", without("--images"), "--images"},
		{"no pages", without("--pages"), "--pages"},
		{"no list url", without("--list-url"), "--list-url"},
		{"bad pages", with("--pages", "3-1"), "--pages"},
		{"bad pages word", with("--pages", "abc"), "--pages"},
		{"bad xpath", with("--images", "//div[@class="), "--images"},
		{"bad css", with("--links", "css:div[["), "--links"},
		{"bad rewrite", append(good, "--rewrite", "no-arrow"), "--rewrite"},
		{"bad rewrite regexp", append(good, "--rewrite", "a(=>b"), "--rewrite"},
		{"bad encoding", append(good, "--encoding", "klingon"), "--encoding"},
		{"bad name field", append(good, "--name", "{nope}"), "--name"},
		{"bad workers", append(good, "--workers", "0"), "--workers"},
		{"bad duration", append(good, "--delay", "soon"), "--delay"},
		{"bad max size", append(good, "--max-size", "12XB"), "--max-size"},
		{"bad header", append(good, "--header", "NoColon"), "--header"},
		{"bad referer", append(good, "--referer", "ftp://x/"), "--referer"},
		{"unknown flag", append(good, "--frobnicate"), "frobnicate"},
		{"bad list url", with("--list-url", "ftp://x/{page}"), "--list-url"},
		{"profile unknown key", append(good, "--site", "bad.yaml"), "no_such_flag"},
		{"profile broken", append(good, "--site", "broken.yaml"), "broken.yaml"},
		{"profile missing", append(good, "--site", "missing.yaml"), "missing.yaml"},
		{"get nothing", []string{"get"}, "nothing to download"},
		{"get unreadable list", []string{"get", "--list", "no-such-list.txt"}, "no-such-list.txt"},
		{"bad queue", append(good, "--queue", "postgres://127.0.0.1/x"), "--queue"},
		{"job without redis", append(good, "--job", "x"), "--job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkBadUsage(t, dir, filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")), tc.want, tc.args...)
		})
	}
	if n := len(cnt.Snapshot()); n != 0 {
		t.Errorf("bad input made %d requests", n)
	}
}

func TestProfileFlagsWin(t *testing.T) {
	srv, _ := serveDemo(t)
	dir := t.TempDir()
	args := demoArgs(t, "gallery", srv.URL)
	var prof strings.Builder
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "--strip-query" {
			i--
			prof.WriteString("strip_query: true\n")
			continue
		}
		key := strings.ReplaceAll(strings.TrimPrefix(args[i], "--"), "-", "_")
		fmt.Fprintf(&prof, "%s: '%s'\n", key, args[i+1])
	}
	if err := os.WriteFile(filepath.Join(dir, "crawl.yaml"), []byte(prof.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// The profile says pages 1-3; the flag says page 1 only: 4 posts.
	r := runCrawl(t, dir, "", "--pages", "1", "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) == 0 || len(got) >= crawl.DemoExpected["gallery"].Files {
		t.Errorf("profile + --pages 1 gave %d files", len(got))
	}
}

// TestInterruptResumes sends Ctrl-C (SIGINT to the process group, as a
// terminal does) mid-crawl: exit 130, and the same command finishes the job.
func TestInterruptResumes(t *testing.T) {
	g := genSite{pages: 2, details: 5, images: 10, delay: 15 * time.Millisecond}
	srv, _ := serve(t, g)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--out", out, "--quiet", "--workers", "4")
	cmd := crawlCmd(t, dir, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return len(files(t, out)) >= 10 })
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v, want exit 130\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("summary does not say interrupted:\n%s", errb.String())
	}
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	checkSite(t, g, got)
	checkManifest(t, out, got)
}

// TestOpenEndedPages walks --pages 2- until a listing page is missing.
func TestOpenEndedPages(t *testing.T) {
	g := genSite{pages: 3, details: 2, images: 3}
	srv, cnt := serve(t, g)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := genArgs(srv.URL, g)
	for i := range args {
		if args[i] == "--pages" {
			args[i+1] = "2-"
		}
	}
	r := runCrawl(t, dir, "", append(args, "--out", out, "--quiet")...)
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 2*2*3 {
		t.Errorf("%d files, want 12: %v", len(got), got)
	}
	if cnt.Hits("/list/1.html") != 0 || cnt.Hits("/list/4.html") != 1 || cnt.Hits("/list/5.html") != 0 {
		t.Errorf("listing requests: %v", cnt.Snapshot())
	}
}

// TestNamesStayInOut gives two URLs one name and a template that tries to
// climb out of --out.
func TestNamesStayInOut(t *testing.T) {
	srv, _ := serveDemo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", "--out", out, "--quiet", "--name", "../../{name}{ext}",
		srv.URL+"/img/g1-1.png", srv.URL+"/img/g1-1.png?copy=2", srv.URL+"/gallery/../img/g1-2.png")
	mustCode(t, r, 0)
	got := files(t, out)
	sum := demoFileSum(t, "img/g1-1.png")
	if len(got) != 3 {
		t.Fatalf("files %v", got)
	}
	var ones int
	for path, s := range got {
		if strings.Contains(path, "..") {
			t.Errorf("path %q climbs", path)
		}
		if s == sum {
			ones++
		}
	}
	if ones != 2 {
		t.Errorf("two URLs of g1-1.png gave %d files with its bytes: %v", ones, got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "out" {
			t.Errorf("%s written outside --out", e.Name())
		}
	}
	checkManifest(t, out, got)
}

// TestNextAndTitle follows a gallery split over pages with --next (the
// last page links back to the first: a cycle) and takes {title} from --title.
func TestNextAndTitle(t *testing.T) {
	g := genSite{pages: 1, details: 1, images: 2}
	mux := http.NewServeMux()
	mux.HandleFunc("/list/1.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><div class="post"><a href="/g/1.html">g</a></div></body></html>`)
	})
	mux.HandleFunc("/g/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if !sscan(r.URL.Path, "/g/%d.html", &n) || n < 1 || n > 3 {
			http.NotFound(w, r)
			return
		}
		next := n%3 + 1
		fmt.Fprintf(w, `<html><head><title>page %d</title></head><body><h1> Sunset  set </h1>
<ul class="photos"><li><img src="/img/1-1-%d.jpg"></li></ul><a class="next" href="%d.html">下一页</a></body></html>`, n, n, next)
	})
	mux.Handle("/img/", g)
	srv, cnt := serve(t, mux)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--out", out, "--quiet", "--next", `//a[@class="next"]/@href`, "--title", "//h1", "--name", "{title}/{n}{ext}")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	want := map[string]string{}
	for n := 1; n <= 3; n++ {
		sum := sha256.Sum256(g.imageBody(fmt.Sprintf("/img/1-1-%d.jpg", n)))
		want[fmt.Sprintf("Sunset set/%d.jpg", n)] = hex.EncodeToString(sum[:])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	for n := 1; n <= 3; n++ {
		if h := cnt.Hits(fmt.Sprintf("/g/%d.html", n)); h != 1 {
			t.Errorf("gallery page %d fetched %d times", n, h)
		}
	}
}
