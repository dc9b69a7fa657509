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
	if o := c.Options(); o.ReadBufferSize != 8<<10 || o.WriteBufferSize != 8<<10 {
		t.Errorf("buffers of %d and %d bytes, want 8 KiB", o.ReadBufferSize, o.WriteBufferSize)
	}
	// A reply larger than the buffer comes through whole.
	big := strings.Repeat("x", 100<<10)
	if err := c.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if v, err := c.Get(ctx, "big").Result(); err != nil || v != big {
		t.Errorf("get of 100 KiB: %d bytes, %v", len(v), err)
	}
}

func TestDialFails(t *testing.T) {
	ctx := context.Background()
	port := redistest.ClosedPort(t)
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

// TestScriptsRunBySHA checks that a loaded script runs by its SHA-1 alone
// (one EVALSHA per call, no EVAL with its source), and that a script the
// server lost still runs.
func TestScriptsRunBySHA(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c, _, err := Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := NewScript("return redis.call('INCR', KEYS[1])")
	if err := LoadScripts(ctx, c, s, NewScript("return 1")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if n, err := s.Run(ctx, c, []string{"n"}).Int(); err != nil || n != i {
			t.Fatalf("run %d: %d, %v", i, n, err)
		}
	}
	calls := srv.Calls(t)
	if calls["evalsha"] != [2]int{3, 0} || calls["eval"][0] != 0 {
		t.Errorf("evalsha (calls, failed) %v, eval %v; want 3 by SHA-1 and no source sent", calls["evalsha"], calls["eval"])
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Run(ctx, c, []string{"n"}).Int(); err != nil || n != 4 {
		t.Errorf("run after SCRIPT FLUSH: %d, %v", n, err)
	}
}
