package input

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxListLine caps the bytes of one line of a URL list.
const maxListLine = 1 << 20

// ReadList calls fn with each URL of the list file name ("-": stdin, which
// is os.Stdin when nil), in order, trimmed of spaces and of a UTF-8 byte
// order mark at the start; blank lines and lines starting with '#' are
// skipped. A file that cannot be opened is a *UsageError; an error of fn
// stops the reading and is returned as it is.
func ReadList(name string, stdin io.Reader, fn func(url string) error) error {
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return Usagef("--list: %w", err)
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxListLine)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\ufeff")
			first = false
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read list %s: %w", name, err)
	}
	return nil
}

// CheckList reports, as a *UsageError, a list file that cannot be read
// ("-", standard input, always can), so that it is found before anything
// is written.
func CheckList(name string) error {
	if name == "-" {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return Usagef("--list: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Usagef("--list: %w", err)
	}
	if st.IsDir() {
		return Usagef("--list %s: is a folder", name)
	}
	return nil
}
