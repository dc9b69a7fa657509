package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crawl/internal/redistest"
)

// startBg starts crawl with args in dir, its stderr kept.
func startBg(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := crawlCmd(t, dir, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &errb
}

// TestRedisCoordinatorAndWorkers crawls a site with a coordinator and two
// workers sharing a Redis server, each with its own --out: one worker is
// there from the start and is killed with kill -9 mid-crawl, the other
// joins late. Every file ends up recorded once, whole, in the folder of
// the worker the coordinator's manifest names, and the per-host limit held.
// The coordinator downloads with one worker and each image takes 60 ms:
// alone it would need about 7 s for what is left when the late worker
// joins, so the late worker finds work even on a loaded machine (with
// three workers and 20 ms it had drained the queue in 0.7 s, 2 runs in 12).
func TestRedisCoordinatorAndWorkers(t *testing.T) {
	redis := redistest.Start(t)
	g := genSite{pages: 3, details: 5, images: 8, delay: 60 * time.Millisecond}
	srv, cnt := serve(t, g)
	dir := t.TempDir()
	outs := map[string]string{
		"coord": filepath.Join(dir, "coord"),
		"w1":    filepath.Join(dir, "w1"),
		"w2":    filepath.Join(dir, "w2"),
	}
	w1, w1err := startBg(t, dir, "worker", "--queue", redis.URL, "--out", outs["w1"], "--quiet")
	coord, coordErr := startBg(t, dir, append(genArgs(srv.URL, g), "--queue", redis.URL, "--out", outs["coord"],
		"--quiet", "--workers", "1", "--per-host", "4")...)
	waitFor(t, 60*time.Second, func() bool { return len(files(t, outs["w1"])) >= 5 })
	w2, w2err := startBg(t, dir, "worker", "--queue", redis.URL, "--out", outs["w2"], "--quiet")
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w1.Wait()
	onW1 := files(t, outs["w1"])

	if err := coord.Wait(); err != nil {
		t.Fatalf("coordinator: %v\n%s", err, coordErr)
	}
	if err := w2.Wait(); err != nil {
		t.Fatalf("late worker: %v\n%s", err, w2err)
	}
	_ = w1err

	rows := manifest7(t, outs["coord"])
	exp := g.expected()
	if len(rows) != len(exp) {
		t.Errorf("coordinator's manifest has %d rows, want %d", len(rows), len(exp))
	}
	byWorker := map[string]int{}
	for url, row := range rows {
		worker := row[6]
		name := ""
		for k, out := range outs {
			if strings.HasSuffix(worker, ":"+out) {
				name = k
			}
		}
		if name == "" {
			t.Errorf("%s: worker %q is none of ours", url, worker)
			continue
		}
		byWorker[name]++
		path := strings.TrimPrefix(url, srv.URL)
		got := files(t, outs[name])[row[1]]
		if name == "w1" {
			got = onW1[row[1]]
		}
		if got != exp[path] || row[3] != exp[path] {
			t.Errorf("%s in %s/%s: sha256 %q (manifest %q), want %s", url, name, row[1], got, row[3], exp[path])
		}
	}
	t.Logf("files by worker: %v", byWorker)
	if byWorker["w2"] == 0 {
		t.Errorf("the late worker took no work: %v", byWorker)
	}
	// Apart from what the killed worker left, no file is on two disks.
	seen := map[string]string{}
	for _, name := range []string{"coord", "w2"} {
		for path, sum := range files(t, outs[name]) {
			if strings.HasSuffix(path, ".part") {
				t.Errorf("%s/%s left behind", name, path)
			}
			if other, ok := seen[sum]; ok {
				t.Errorf("%s/%s is also in %s", name, path, other)
			}
			seen[sum] = name
		}
	}
	if p := cnt.Peak(); p > 4 {
		t.Errorf("server saw %d requests at once, --per-host 4", p)
	}
}

// TestRedisCoordinatorAlone: a crawl on Redis with no worker but the
// coordinator finishes by itself, and a rerun fetches nothing again.
func TestRedisCoordinatorAlone(t *testing.T) {
	redis := redistest.Start(t)
	g := genSite{pages: 2, details: 3, images: 4}
	srv, cnt := serve(t, g)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--queue", redis.URL, "--job", "alone", "--out", out, "--quiet")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	got := files(t, out)
	checkSite(t, g, got)
	if rows := manifest7(t, out); len(rows) != len(got) {
		t.Errorf("manifest has %d rows, %d files on disk", len(rows), len(got))
	}
	before := cnt.Snapshot()
	r = runCrawl(t, dir, "", args...)
	mustCode(t, r, 0)
	for p, n := range cnt.Snapshot() {
		if strings.HasPrefix(p, "/img/") && n != before[p] {
			t.Errorf("rerun fetched %s again", p)
		}
	}
}

// manifest7 reads a coordinator's manifest: url → row of seven columns.
func manifest7(t *testing.T, out string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "url,path,bytes,sha256,content_type,source,worker" {
		t.Fatalf("manifest header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 7 {
			t.Fatalf("manifest row %q", l)
		}
		if _, dup := rows[f[0]]; dup {
			t.Errorf("%s listed twice", f[0])
		}
		rows[f[0]] = f
	}
	return rows
}

// TestRedisSession: on a crawl shared through Redis, the cookie the
// listing page sets reaches a worker on another machine that downloads.
func TestRedisSession(t *testing.T) {
	redis := redistest.Start(t)
	site := newSessionSite(t, 300*time.Millisecond)
	dir := t.TempDir()
	w, werr := startBg(t, dir, "worker", "--queue", redis.URL, "--stage", "download", "--out", filepath.Join(dir, "w"), "--quiet")
	r := runCrawl(t, dir, "", append(site.args(filepath.Join(dir, "coord")), "--queue", redis.URL, "--workers", "1")...)
	mustCode(t, r, 0)
	left := make(chan error, 1)
	go func() { left <- w.Wait() }()
	select {
	case err := <-left:
		if err != nil {
			t.Fatalf("worker: %v\n%s", err, werr)
		}
	case <-time.After(time.Minute):
		w.Process.Kill()
		<-left
		t.Fatalf("the worker did not leave when the crawl completed\n%s", werr)
	}
	if len(files(t, filepath.Join(dir, "w"))) == 0 {
		t.Error("the worker downloaded nothing")
	}
	if n := len(manifest7(t, filepath.Join(dir, "coord"))); n != 6 {
		t.Errorf("manifest has %d rows, want 6", n)
	}
	site.check(t, 1)
}

// TestRedisRecordsPerLease: crawl get on Redis looks up whether any worker
// holds the files of a leased batch in one HMGET, not one HGET a file, and
// a rerun finds every record that way and fetches nothing again. Only the
// lookups of the files hash count: the counts and the acks run HGETs of
// their own, more the longer a run takes.
func TestRedisRecordsPerLease(t *testing.T) {
	redis := redistest.Start(t)
	g := genSite{pages: 4, details: 10, images: 10}
	srv, cnt := serve(t, g)
	var list strings.Builder
	for path := range g.expected() {
		list.WriteString(srv.URL + path + "\n")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "urls.txt"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"get", "--list", "urls.txt", "--queue", redis.URL, "--job", "lookups", "--out", out, "--quiet"}
	key := `"crawl:{lookups}:files"`
	for run := 1; run <= 2; run++ {
		stop := redis.Watch(t)
		r := runCrawl(t, dir, "", args...)
		mustCode(t, r, 0)
		var hget, hmget int
		for _, l := range stop() {
			switch {
			case strings.Contains(l, `] "HGET" `+key):
				hget++
			case strings.Contains(l, `] "HMGET" `+key):
				hmget++
			}
		}
		t.Logf("run %d: %d HGET and %d HMGET of the files hash", run, hget, hmget)
		if n := len(g.expected()); hget > n/10 || hmget == 0 {
			t.Errorf("run %d: %d HGET and %d HMGET of the files hash for %d files", run, hget, hmget, n)
		}
		if got := files(t, out); len(got) != len(g.expected()) {
			t.Errorf("run %d: %d files on disk, want %d", run, len(got), len(g.expected()))
		}
	}
	for path := range g.expected() {
		if n := cnt.Hits(path); n != 1 {
			t.Errorf("%s fetched %d times over two runs", path, n)
		}
	}
}
