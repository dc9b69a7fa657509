package browser

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// profilePrefix starts the name of a profile folder, followed by the ID
// of the process that made it.
const profilePrefix = "crawl-chromium-"

// newProfileDir makes a new profile folder under parent ("" is the
// system's temporary folder), named after this process, after removing
// those of processes that are gone (left by a Chromium killed with its
// crawl), with any process still using them.
func newProfileDir(parent string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create browser folder: %w", err)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return "", fmt.Errorf("read browser folder: %w", err)
	}
	for _, e := range entries {
		if owner, ok := profileOwner(e.Name()); ok && !alive(owner) {
			old := filepath.Join(parent, e.Name())
			killUsing(old)
			os.RemoveAll(old)
		}
	}
	dir, err := os.MkdirTemp(parent, profilePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("create browser profile: %w", err)
	}
	return dir, nil
}

// profileOwner is the process ID in a profile folder's name.
func profileOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, profilePrefix)
	if !ok {
		return 0, false
	}
	head, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(head)
	return pid, err == nil && pid > 0
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
