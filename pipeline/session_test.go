package pipeline

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

func TestSessionStateAdd(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	var st sessionState
	st.add([]fetcher.Cookie{
		{Domain: "a.example", Path: "/", Name: "sid", Value: "1"},
		{Domain: "a.example", Path: "/", Name: "old", Value: "x", Expires: now.Unix() + 10},
	}, now)
	st.add([]fetcher.Cookie{
		{Domain: "A.example", Path: "/", Name: "sid", Value: "2"},
		{Domain: "a.example", Path: "/app", Name: "sid", Value: "3"},
		{Domain: "a.example", Path: "/", Name: "gone", Expires: -1},
	}, now)
	st.add([]fetcher.Cookie{{Domain: "b.example", Path: "/", Name: "b", Value: "4"}}, now.Add(time.Minute))
	want := []sessionCookie{
		{fetcher.Cookie{Domain: "A.example", Path: "/", Name: "sid", Value: "2"}, 2},
		{fetcher.Cookie{Domain: "a.example", Path: "/app", Name: "sid", Value: "3"}, 2},
		{fetcher.Cookie{Domain: "a.example", Path: "/", Name: "gone", Expires: -1}, 2},
		{fetcher.Cookie{Domain: "b.example", Path: "/", Name: "b", Value: "4"}, 3},
	}
	if st.Version != 3 || len(st.Cookies) != len(want) {
		t.Fatalf("version %d, cookies %+v", st.Version, st.Cookies)
	}
	for i := range want {
		if st.Cookies[i] != want[i] {
			t.Errorf("cookie %d: %+v, want %+v", i, st.Cookies[i], want[i])
		}
	}
	if got := st.since(1, 3); len(got) != 3 {
		t.Errorf("since(1, 3): %+v", got)
	}
}

// TestSessionShared: a cookie one client's answer set reaches another
// client through the backend, once it asks for the version that holds it.
func TestSessionShared(t *testing.T) {
	ctx := t.Context()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "7", Path: "/"})
		}
		w.Write([]byte(r.Header.Get("Cookie")))
	}))
	t.Cleanup(srv.Close)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	client := func() *fetcher.Client {
		c, err := fetcher.New(fetcher.Config{IgnoreRobots: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	cookie := func(c *fetcher.Client) string {
		page, err := c.GetPage(ctx, srv.URL+"/x", 0)
		if err != nil {
			t.Fatal(err)
		}
		return string(page.Body)
	}
	if err := saveCookies(ctx, db, []fetcher.Cookie{{Domain: "127.0.0.1", Path: "/", Name: "seed", Value: "s"}}); err != nil {
		t.Fatal(err)
	}
	ca, cb := client(), client()
	a, b := newSession(db, ca, io.Discard), newSession(db, cb, io.Discard)
	a.load(ctx, math.MaxInt64)
	b.load(ctx, math.MaxInt64)
	if _, err := ca.GetPage(ctx, srv.URL+"/login", 0); err != nil {
		t.Fatal(err)
	}
	v := a.save(ctx)
	if v != 2 {
		t.Errorf("saved version %d, want 2", v)
	}
	if got := cookie(cb); got != "seed=s" {
		t.Errorf("before loading: %q", got)
	}
	b.load(ctx, v)
	if got := cookie(cb); got != "seed=s; sid=7" {
		t.Errorf("after loading version %d: %q", v, got)
	}
	if got := a.save(ctx); got != v {
		t.Errorf("a save with nothing new: version %d, want %d", got, v)
	}
}
