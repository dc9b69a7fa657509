package pipeline

import (
	"testing"

	fault "crawl/internal/faultserver"
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
