package redisconn

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"crawl/internal/redistest"
)

func TestDial(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c, where, err := Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if where != srv.URL {
		t.Errorf("where %q, want %q", where, srv.URL)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("get: %q, %v", v, err)
	}
}

func TestDialFails(t *testing.T) {
	ctx := context.Background()
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, want string
	}{
		{"bad scheme", "http://127.0.0.1:1/0", "redis URL"},
		{"nobody listening", fmt.Sprintf("redis://127.0.0.1:%d/0", port), "connect to redis"},
		{"password redacted", fmt.Sprintf("redis://u:secret@127.0.0.1:%d/0", port), "connect to redis"},
	}
	for _, tt := range tests {
		c, where, err := Dial(ctx, tt.url)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q, want it to say %q (and no password)", tt.name, err, tt.want)
		}
		if where == "" || strings.Contains(where, "secret") {
			t.Errorf("%s: where %q, want the URL without its password", tt.name, where)
		}
	}
}

func TestCheckJob(t *testing.T) {
	for _, tt := range []struct{ job, want string }{
		{"movies", ""},
		{"", "empty job name"},
		{strings.Repeat("j", 201), "longer than 200"},
		{"a{b", "brace"},
		{"a}b", "brace"},
		{"a\nb", "control"},
		{"a\x7fb", "control"},
	} {
		err := CheckJob(tt.job)
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckJob(%q) = %v, want %q", tt.job, err, tt.want)
		}
	}
}
