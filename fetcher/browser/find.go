package browser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/andybalholm/cascadia"
)

// EnvChromium names the environment variable that may point at the
// Chromium program to use; without it Find looks on PATH.
const EnvChromium = "CRAWL_CHROMIUM"

// programs are the names Find looks for on PATH, in order.
var programs = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoChromium is returned by Find when no Chromium program is found.
var ErrNoChromium = errors.New("--render needs Chromium, and none was found: install Debian's chromium package (apt-get install chromium) or set " + EnvChromium)

// Find returns the path of the Chromium program: the one EnvChromium
// names, else the first of chromium, chromium-browser, google-chrome and
// google-chrome-stable on PATH. An error wraps ErrNoChromium.
func Find() (string, error) {
	if p := strings.TrimSpace(os.Getenv(EnvChromium)); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, ErrNoChromium)
		}
		return path, nil
	}
	for _, name := range programs {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", ErrNoChromium
}

// Wait is what a page load waits for once the page has answered, before
// it is scrolled: by default until the network is quiet (bounded); or
// until an element matching Selector is in the page; or for Duration.
type Wait struct {
	Selector string        // a CSS selector; "" for none
	Duration time.Duration // > 0: wait this long instead
}

// ParseWait reads a --render-wait value: a duration such as 2s or 500ms,
// else a CSS selector such as "#gallery img". "" is the default wait. A
// value that is neither is an error naming it.
func ParseWait(s string) (Wait, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Wait{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return Wait{}, fmt.Errorf("--render-wait %q: a duration must be positive", s)
		}
		return Wait{Duration: d}, nil
	}
	if _, err := cascadia.Compile(s); err != nil {
		return Wait{}, fmt.Errorf("--render-wait %q: neither a duration (2s) nor a CSS selector: %w", s, err)
	}
	return Wait{Selector: s}, nil
}
