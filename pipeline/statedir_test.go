package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"crawl/store"
)

// TestStateDirSymlinkRefused: OUT/.crawl that is a symbolic link is not
// written through.
func TestStateDirSymlinkRefused(t *testing.T) {
	out := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(out, ".crawl")); err != nil {
		t.Fatal(err)
	}
	_, _, err := openLocal(context.Background(), &Config{Out: out})
	if !errors.Is(err, store.ErrSymlink) {
		t.Fatalf("err = %v, want ErrSymlink", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) > 0 {
		t.Errorf("written through the link: %v", ents)
	}
}

// TestConfigSaveReplacesLink: a link planted as config.json.tmp is
// replaced, not written through.
func TestConfigSaveReplacesLink(t *testing.T) {
	out := t.TempDir()
	c := &Config{Out: out}
	if err := os.MkdirAll(c.stateDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(c.stateDir(), "config.json.tmp")); err != nil {
		t.Fatal(err)
	}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("written through the link: %q", b)
	}
	if _, err := loadConfig(c.stateDir()); err != nil {
		t.Error(err)
	}
}
