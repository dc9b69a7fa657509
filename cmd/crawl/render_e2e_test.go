package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jsSite is a site whose pages only JavaScript fills: a listing page
// linking to a gallery that adds its images by script (one after a
// delay, one after a fetch), with a lazy image behind a data: placeholder;
// a player that fetches its HLS stream by script; a page whose answer
// and script set cookies, and whose images are served only with them.
func jsSite(t *testing.T) (base string, cnt *counter, segments []byte) {
	t.Helper()
	mux := http.NewServeMux()
	page := func(path, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		})
	}
	file := func(path string, body []byte, cookies ...string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			for _, c := range cookies {
				if !strings.Contains(r.Header.Get("Cookie"), c) {
					http.Error(w, "no cookie "+c, http.StatusForbidden)
					return
				}
			}
			w.Write(body)
		})
	}
	page("/list/1.html", `<html><body><div class="post"><a href="/g/1.html">gallery</a></div></body></html>`)
	page("/g/1.html", `<html><head><title>g1</title></head><body><div id="pics">
<img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/lazy.jpg">
</div><script>
function add(src) { const i = document.createElement('img'); i.src = src; document.getElementById('pics').appendChild(i); }
add('/img/a.jpg');
fetch('/api/more.json').then(r => r.json()).then(j => add(j.src));
setTimeout(() => add('/img/late.jpg'), 100);
</script></body></html>`)
	mux.HandleFunc("/api/more.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"src":"/img/fetched.jpg"}`)
	})
	for _, name := range []string{"a", "lazy", "late", "fetched", "c1", "c2"} {
		var cookies []string
		if strings.HasPrefix(name, "c") {
			cookies = []string{"srv=s1", "js=j1"}
		}
		file("/img/"+name+".jpg", []byte("jpeg:"+name), cookies...)
	}

	page("/player.html", `<html><body><video id="v"></video><script>
fetch('/v/index.m3u8').then(r => r.text()).then(t => { document.getElementById('v').dataset.loaded = t.length; });
</script></body></html>`)
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:4\n")
	for i := range 2 {
		seg := bytes.Repeat([]byte{0x47, byte(i), 2, 3}, 47*3) // MPEG-TS packets of 188 bytes
		segments = append(segments, seg...)
		file(fmt.Sprintf("/v/s%d.ts", i), seg)
		fmt.Fprintf(&pl, "#EXTINF:4,\ns%d.ts\n", i)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	mux.HandleFunc("/v/index.m3u8", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprint(w, pl.String())
	})

	mux.HandleFunc("/cookies.html", func(w http.ResponseWriter, _ *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "srv", Value: "s1", Path: "/"})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><script>document.cookie = "js=j1; path=/";</script>
<img src="/img/c1.jpg"><img src="/img/c2.jpg"></body></html>`)
	})
	mux.HandleFunc("/slow.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><script>setInterval(() => fetch('/api/poll'), 100);</script></body></html>`)
	})
	mux.HandleFunc("/api/poll", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv, cnt := serve(t, mux)
	return srv.URL, cnt, segments
}

// chromiumMarker gives crawl a temporary folder of its own (short, as
// Chromium puts a socket under it), which Chromium's profile folder, and
// so its command line, then names.
func chromiumMarker(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "re2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runRender runs crawl with TMPDIR set to marker.
func runRender(t *testing.T, dir, marker string, args ...string) result {
	t.Helper()
	cmd := crawlCmd(t, dir, args...)
	cmd.Env = append(cmd.Env, "TMPDIR="+marker)
	return runCmd(t, cmd, "")
}

// chromiumLeft lists the processes whose command line holds marker.
func chromiumLeft(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(marker)) {
			out = append(out, e.Name())
		}
	}
	return out
}

// noChromiumLeft fails the test if a process still names marker after a
// few seconds.
func noChromiumLeft(t *testing.T, marker string) {
	t.Helper()
	var left []string
	for range 100 {
		if left = chromiumLeft(marker); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("chromium processes left running: %v", left)
}

func TestRenderGallery(t *testing.T) {
	t.Parallel()
	base, cnt, _ := jsSite(t)
	dir := t.TempDir()
	marker := chromiumMarker(t)
	args := []string{"--list-url", base + "/list/{page}.html", "--pages", "1",
		"--links", `//div[@class="post"]/a/@href`, "--images", `//div[@id="pics"]/img/@src`, "--quiet"}

	plain := runCrawl(t, dir, "", append(args, "--out", filepath.Join(dir, "plain"))...)
	mustCode(t, plain, 0)
	if got := files(t, filepath.Join(dir, "plain")); len(got) != 0 {
		t.Errorf("without --render: %v, want nothing (the page holds no image until its script runs)", got)
	}

	out := filepath.Join(dir, "rendered")
	r := runRender(t, dir, marker, append(args, "--out", out, "--render")...)
	mustCode(t, r, 0)
	got := files(t, out)
	for _, name := range []string{"a", "lazy", "late", "fetched"} {
		if want := hexSum([]byte("jpeg:" + name)); got[name+".jpg"] != want {
			t.Errorf("%s.jpg: %q, want the served bytes", name, got[name+".jpg"])
		}
		if n := cnt.Hits("/img/" + name + ".jpg"); n != 1 {
			t.Errorf("/img/%s.jpg requested %d times, want once (the browser loads no images)", name, n)
		}
	}
	if len(got) != 4 {
		t.Errorf("files %v, want 4", got)
	}
	noChromiumLeft(t, marker)
	if left, _ := os.ReadDir(marker); len(left) != 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
}

func TestRenderNetSelectsStream(t *testing.T) {
	t.Parallel()
	base, _, segments := jsSite(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	marker := chromiumMarker(t)
	r := runRender(t, dir, marker, "--list-url", base+"/player.html", "--pages", "1",
		"--images", `net:\.m3u8`, "--render", "--out", out, "--quiet")
	mustCode(t, r, 0)
	got := files(t, out)
	if len(got) != 1 || got["index.ts"] != hexSum(segments) {
		t.Errorf("files %v, want index.ts holding the stream's segments", got)
	}
	noChromiumLeft(t, marker)
}

func TestRenderCookiesReachDownloads(t *testing.T) {
	t.Parallel()
	base, cnt, _ := jsSite(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	marker := chromiumMarker(t)
	r := runRender(t, dir, marker, "--list-url", base+"/cookies.html", "--pages", "1",
		"--images", `//img/@src`, "--render", "--out", out, "--quiet", "--retries", "0")
	mustCode(t, r, 0)
	got := files(t, out)
	for _, name := range []string{"c1", "c2"} {
		if got[name+".jpg"] != hexSum([]byte("jpeg:"+name)) {
			t.Errorf("%s.jpg not downloaded with the page's cookies (files %v)\n%s", name, got, r.stderr)
		}
		if n := cnt.Hits("/img/" + name + ".jpg"); n != 1 {
			t.Errorf("/img/%s.jpg requested %d times, want once", name, n)
		}
	}
}

func TestRenderUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := t.TempDir()
	base := []string{"--list-url", "http://127.0.0.1:1/{page}", "--pages", "1", "--out", filepath.Join(dir, "out")}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no chromium", []string{"PATH=" + empty, "CRAWL_CHROMIUM="}, []string{"--images", "//img/@src", "--render"}, "apt-get install chromium"},
		{"net without render", nil, []string{"--images", `net:\.m3u8`}, "add --render"},
		{"wait without render", nil, []string{"--images", "//img/@src", "--render-wait", "2s"}, "--render-wait needs --render"},
		{"bad wait", nil, []string{"--images", "//img/@src", "--render", "--render-wait", "div["}, "--render-wait"},
	} {
		cmd := crawlCmd(t, dir, append(base, tc.args...)...)
		cmd.Env = append(cmd.Env, tc.env...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("%s: %v, want exit code 2\n%s", tc.name, err, errb.String())
			continue
		}
		msg := errb.String()
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: stderr %q, want one line naming %q", tc.name, msg, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Errorf("%s: --out was created", tc.name)
		}
	}
}

func TestRenderKilledLeavesNoChromium(t *testing.T) {
	t.Parallel()
	base, cnt, _ := jsSite(t)
	dir := t.TempDir()
	marker := chromiumMarker(t)
	cmd := crawlCmd(t, dir, "--list-url", base+"/slow.html", "--pages", "1", "--images", "//img/@src",
		"--render", "--out", filepath.Join(dir, "out"), "--quiet")
	cmd.Env = append(cmd.Env, "TMPDIR="+marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return cnt.Hits("/api/poll") > 0 && len(chromiumLeft(marker)) > 0 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	noChromiumLeft(t, marker)
}
