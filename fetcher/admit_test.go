package fetcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		}
	}))
	defer srv.Close()
	c, err := New(Config{PerHost: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Admit(ctx, srv.URL+"/private/p"); !errors.Is(err, ErrDisallowed) {
		t.Errorf("Admit of a disallowed page: %v", err)
	}
	release, err := c.Admit(ctx, srv.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	// The host's one slot is held: a second page waits for it.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.Admit(short, srv.URL+"/b"); err == nil {
		t.Error("a second page was admitted while the host's only slot was held")
	}
	release()
	release2, err := c.Admit(ctx, srv.URL+"/b")
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	release2()
}

func TestPageReferer(t *testing.T) {
	for _, tc := range []struct {
		cfg        Config
		from, want string
	}{
		{Config{}, "https://a.example/list/2?x=1", "https://a.example/list/2?x=1"},
		{Config{}, "https://b.example/list", "https://b.example/"},
		{Config{Referer: NoReferer}, "https://a.example/list", ""},
		{Config{Referer: "https://fixed.example/"}, "https://a.example/list", "https://fixed.example/"},
		{Config{Header: http.Header{"Referer": {"https://hdr.example/"}}}, "https://a.example/list", "https://hdr.example/"},
	} {
		c, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.PageReferer(tc.from, "https://a.example/g/1"); got != tc.want {
			t.Errorf("%+v from %s: %q, want %q", tc.cfg, tc.from, got, tc.want)
		}
		c.Close()
	}
}
