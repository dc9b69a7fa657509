package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	fault "crawl/internal/faultserver"
	"crawl/store"
)

// reservedName is the name url has reserved in e's folder, "" if none.
func (e *downloadEnv) reservedName(url string) string {
	e.t.Helper()
	path, ok, _, err := e.dir.Reserved(e.ctx, url)
	if err != nil {
		e.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return path
}

// TestNamerGuess: the names of a leased batch that wait for their
// extension are reserved at lease on the guess that they are of the type
// the last file was. A response that confirms it keeps the name; one that
// does not gives it back and gets its own.
func TestNamerGuess(t *testing.T) {
	jpeg, png := fault.Bytes("jpeg", 1000), fault.Bytes("png", 1000)
	srv := fault.New()
	defer srv.Close()
	for _, p := range []string{"/first", "/a", "/b"} {
		srv.File(p, fault.File{Body: jpeg, ContentType: "image/jpeg"})
	}
	for _, p := range []string{"/x", "/y"} {
		srv.File(p, fault.File{Body: png, ContentType: "image/png"})
	}
	e := newDownloadEnv(t, nil)
	// Alone, with nothing to guess from: named once the response came.
	e.download(e.lease(FileTask{URL: srv.URL("/first")})...)

	tasks := e.lease(FileTask{URL: srv.URL("/a")}, FileTask{URL: srv.URL("/b")},
		FileTask{URL: srv.URL("/x")}, FileTask{URL: srv.URL("/y")})
	for _, c := range []struct{ path, name string }{{"/a", "a.jpg"}, {"/b", "b.jpg"}, {"/x", "x.jpg"}, {"/y", "y.jpg"}} {
		if got := e.reservedName(srv.URL(c.path)); got != c.name {
			t.Errorf("%s reserved at lease as %q, want %q", c.path, got, c.name)
		}
	}
	e.download(tasks...)
	e.stop()

	e.wantFiles(map[string][]byte{"first.jpg": jpeg, "a.jpg": jpeg, "b.jpg": jpeg, "x.png": png, "y.png": png})
	for _, c := range []struct{ path, name string }{{"/first", "first.jpg"}, {"/a", "a.jpg"}, {"/x", "x.png"}} {
		body := jpeg
		if c.path == "/x" {
			body = png
		}
		e.wantRecord(srv.URL(c.path), c.name, body)
		if got := e.reservedName(srv.URL(c.path)); got != c.name {
			t.Errorf("%s reserved as %q, want %q", c.path, got, c.name)
		}
	}
	// The wrong guesses were given back: another URL gets those names.
	for _, name := range []string{"x.jpg", "y.jpg"} {
		got, err := e.dir.Reserve(e.ctx, "http://elsewhere/"+name, name)
		if err != nil || got != name {
			t.Errorf("reserve %s after it was given back: %q, %v", name, got, err)
		}
	}
	for _, p := range []string{"/first", "/a", "/b", "/x", "/y"} {
		if n := srv.Count(p); n != 1 {
			t.Errorf("%s: %d requests, want 1", p, n)
		}
	}
}

// TestNamerKeptName: a URL that fails before its response tells its type
// keeps the name it was to get (from --name-col here); tried again without
// that name, as from failed.csv, it gets the same one, whether it comes
// alone or in a batch reserved at lease.
func TestNamerKeptName(t *testing.T) {
	gif := fault.Bytes("gif", 1000)
	for _, batch := range []bool{false, true} {
		name := "alone"
		if batch {
			name = "in a batch"
		}
		t.Run(name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/first", fault.File{Body: gif, ContentType: "image/jpeg"})
			srv.File("/late", fault.File{Always: &fault.Fault{Kind: fault.Status, Status: 404}})
			srv.File("/other", fault.File{Body: gif, ContentType: "image/gif"})
			late := srv.URL("/late")
			e := newDownloadEnv(t, nil)
			e.download(e.lease(FileTask{URL: srv.URL("/first")})...) // the guess is .jpg from now on
			e.download(e.lease(FileTask{URL: late, Name: "photo"})...)
			if _, failed := e.failures()[late]; !failed {
				t.Fatalf("%s did not fail", late)
			}
			if got := e.reservedName(late); got != "" {
				t.Fatalf("%s reserved %q before its type was known", late, got)
			}

			// The next run: the URL is back, its name column lost.
			if err := e.db.Restart(e.ctx, QueueDownload); err != nil {
				t.Fatal(err)
			}
			srv.File("/late", fault.File{Body: gif, ContentType: "image/gif"})
			fts := []FileTask{{URL: late}}
			if batch {
				fts = append(fts, FileTask{URL: srv.URL("/other")})
			}
			e.get(fts...)
			e.wantRecord(late, "photo.gif", gif)
			want := map[string][]byte{"first.jpg": gif, "photo.gif": gif}
			if batch {
				want["other.gif"] = gif
			}
			e.wantFiles(want)
		})
	}
}

// testNamer returns a namer of tmpl over an output folder of its own, its
// reserver started until the end of t.
func testNamer(t *testing.T, tmpl string) (*namer, *store.Dir) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := store.NewDir(t.TempDir(), db)
	n := newNamer(dir, tmpl, func(err error) { t.Error(err) })
	t.Cleanup(n.start(context.Background()))
	return n, dir
}

// TestNamerAnswers: what the namer answers for each kind of file, asked
// directly: the path now, a wait for the type (with a guess reserved, or
// with a kept name), and what the type then makes of it.
func TestNamerAnswers(t *testing.T) {
	ctx := context.Background()
	n, dir := testNamer(t, "{name}{ext}")
	ask := func(ft FileTask) name {
		t.Helper()
		nm, err := n.name(ctx, ft, name{})
		if err != nil {
			t.Fatal(err)
		}
		return nm
	}

	// A URL that names the file: reserved now.
	if nm := ask(FileTask{URL: "http://h/a.jpg"}); nm.waits() || nm.path != "a.jpg" {
		t.Errorf("a.jpg: %+v, want the path now", nm)
	}
	// No extension, nothing known of the URL: a wait, then the type names it.
	var err error
	nm := ask(FileTask{URL: "http://h/b"})
	if !nm.waits() || nm.path != "" || nm.kept != "" {
		t.Errorf("b: %+v, want a wait", nm)
	}
	if nm, err = n.reserveLate(ctx, FileTask{URL: "http://h/b"}, nm, ".png"); err != nil || nm.waits() || nm.path != "b.png" {
		t.Errorf("b once typed: %+v, %v; want b.png", nm, err)
	}
	// Failed before its type was known, with a name of its own: kept, and
	// that name comes back without it.
	n.keep(ctx, FileTask{URL: "http://h/c", Name: "cat"}, name{})
	nm = ask(FileTask{URL: "http://h/c"})
	if !nm.waits() || nm.kept != "cat"+store.ExtMark {
		t.Errorf("c: %+v, want a wait with the kept name", nm)
	}
	if nm, err = n.reserveLate(ctx, FileTask{URL: "http://h/c"}, nm, ".gif"); err != nil || nm.path != "cat.gif" {
		t.Errorf("c once typed: %+v, %v; want cat.gif", nm, err)
	}
	// Reserved by an earlier run: that name, now.
	if nm := ask(FileTask{URL: "http://h/b"}); nm.waits() || nm.path != "b.png" {
		t.Errorf("b again: %+v, want b.png now", nm)
	}

	// Leased in a batch after a .gif: reserved on that guess, which the
	// type confirms (d.gif) or not (e.jpg: e.gif is given back).
	var tasks []store.Task
	for i, u := range []string{"http://h/d", "http://h/e", "http://h/b"} {
		st := fileTask(FileTask{URL: u})
		st.ID = int64(i + 1)
		tasks = append(tasks, st)
	}
	n.reserveAhead(ctx, tasks)
	for i, c := range []struct {
		ext, guessed, final string
	}{{".gif", "d.gif", "d.gif"}, {".jpg", "e.gif", "e.jpg"}, {"", "b.png", "b.png"}} {
		ft, early, err := n.take(tasks[i])
		if err != nil {
			t.Fatal(err)
		}
		nm, err := n.name(ctx, ft, early)
		if err != nil || nm.path != c.guessed {
			t.Errorf("%s at lease: %+v, %v; want %s", ft.URL, nm, err, c.guessed)
		}
		if ft.URL == "http://h/b" {
			// Reserved by an earlier run: no guess was made.
			if nm.waits() {
				t.Errorf("b at lease: %+v, want its name now", nm)
			}
			continue
		}
		if nm.guess != ".gif" || !nm.waits() {
			t.Errorf("%s at lease: %+v, want a guess of .gif", ft.URL, nm)
		}
		nm, err = n.reserveLate(ctx, ft, nm, c.ext)
		if err != nil || nm.waits() || nm.path != c.final {
			t.Errorf("%s once typed %s: %+v, %v; want %s", ft.URL, c.ext, nm, err, c.final)
		}
	}
	if got, err := dir.Reserve(ctx, "http://elsewhere/e.gif", "e.gif"); err != nil || got != "e.gif" {
		t.Errorf("e.gif after it was given back: %q, %v", got, err)
	}
}

// TestNamerWaitingNames: leased before any response told a type, names
// that wait for one are not reserved at lease; the first type a response
// tells reserves the others together, on that guess, and take hands them
// out as if reserved at lease.
func TestNamerWaitingNames(t *testing.T) {
	ctx := context.Background()
	n, _ := testNamer(t, "{name}{ext}")
	var tasks []store.Task
	for i := range 5 {
		st := fileTask(FileTask{URL: fmt.Sprintf("http://h/%c", 'a'+i)})
		st.ID = int64(i + 1)
		tasks = append(tasks, st)
	}
	tasks = append(tasks, fileTask(FileTask{URL: "http://h/named.png"}), fileTask(FileTask{URL: "http://h/also.png"}))
	tasks[5].ID, tasks[6].ID = 6, 7
	n.reserveAhead(ctx, tasks)
	// The names the URL gives are reserved at lease; the others wait.
	if ft, early, _ := n.take(tasks[5]); !early.ahead || early.path != "named.png" {
		t.Errorf("%s at lease: %+v", ft.URL, early)
	}
	ft, early, err := n.take(tasks[0])
	if err != nil || early.ahead {
		t.Fatalf("%s at lease: %+v, %v; want no name yet", ft.URL, early, err)
	}
	nm, err := n.name(ctx, ft, early)
	if err != nil || !nm.waits() {
		t.Fatalf("a: %+v, %v", nm, err)
	}
	if nm, err = n.reserveLate(ctx, ft, nm, ".jpg"); err != nil || nm.path != "a.jpg" {
		t.Fatalf("a once typed: %+v, %v", nm, err)
	}
	// The first type told named the other waiting ones, on its guess.
	for _, st := range tasks[1:5] {
		ft, early, err := n.take(st)
		want := ft.URL[len("http://h/"):] + ".jpg"
		if err != nil || !early.ahead || early.path != want || early.guess != ".jpg" || !early.fresh {
			t.Errorf("%s after the first type: %+v, %v; want %s on a guess", ft.URL, early, err, want)
		}
	}
	if len(n.waiting) != 0 {
		t.Errorf("%d names still wait", len(n.waiting))
	}
}
