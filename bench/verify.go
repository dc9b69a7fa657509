package main

// Checking what crawl wrote against the generator's manifest: every
// expected file at its expected path with its size and SHA-256.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// verdict is the outcome of checking one output folder.
type verdict struct {
	Expected int      `json:"expected"`
	OK       int      `json:"ok"`
	Missing  int      `json:"missing"`
	Bad      int      `json:"bad"`   // wrong size or content
	Extra    int      `json:"extra"` // files nobody asked for
	Parts    int      `json:"parts"` // *.part files left behind
	Bytes    int64    `json:"bytes"` // bytes of the files found right
	Problems []string `json:"problems,omitempty"`
	// Titles: w2, how many of the expected title folders hold their files.
	Titles    int `json:"titles,omitempty"`
	TitlesOf  int `json:"titles_of,omitempty"`
	problemsN int
}

func (v *verdict) problem(format string, a ...any) {
	v.problemsN++
	if len(v.Problems) < 5 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, a...))
	}
}

// jpegAliases are other extensions a file served as image/jpeg may be
// given when its URL has none.
var jpegAliases = []string{".jpeg", ".jpe", ".jfif"}

// outputFiles lists the regular files under out, slash-separated and
// relative, leaving out crawl's own (.crawl/, manifest.csv, failed.csv).
func outputFiles(out string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".crawl" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "manifest.csv" || rel == "failed.csv" {
			return nil
		}
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, err
}

// isPart says whether rel is a file in progress: NAME.part, or a sidecar
// of one (NAME.part.meta).
func isPart(rel string) bool {
	b := path.Base(rel)
	return strings.HasSuffix(b, ".part") || strings.Contains(b, ".part.")
}

// check is one file to hash.
type check struct {
	rel  string
	want genFile
}

// verify checks out against the expected files (keyed by their path under
// out).
func verify(out string, expected []genFile) (*verdict, error) {
	want := make(map[string]genFile, len(expected))
	for _, f := range expected {
		want[f.Out] = f
	}
	files, err := outputFiles(out)
	if err != nil {
		return nil, err
	}
	v := &verdict{Expected: len(expected)}
	seen := map[string]bool{}
	var checks []check
	for _, rel := range files {
		if _, ok := want[rel]; !ok && isPart(rel) {
			v.Parts++
			continue
		}
		key := rel
		if _, ok := want[key]; !ok {
			ext := path.Ext(rel)
			for _, a := range jpegAliases {
				if strings.EqualFold(ext, a) {
					key = strings.TrimSuffix(rel, ext) + ".jpg"
				}
			}
		}
		f, ok := want[key]
		if !ok || seen[key] {
			v.Extra++
			if _, near := want[rel+".jpg"]; near && path.Ext(rel) == "" {
				v.problem("%s has no extension (want %s.jpg)", rel, rel)
			} else {
				v.problem("extra file %s", rel)
			}
			continue
		}
		seen[key] = true
		checks = append(checks, check{rel, f})
	}
	bad := hashAll(out, checks)
	for _, c := range checks {
		if msg, isBad := bad[c.rel]; isBad {
			v.Bad++
			v.problem("%s: %s", c.rel, msg)
			continue
		}
		v.OK++
		v.Bytes += c.want.Size
	}
	for _, f := range expected {
		if !seen[f.Out] {
			v.Missing++
			v.problem("missing %s (from %s)", f.Out, f.URL)
		}
	}
	return v, nil
}

// hashAll checks the size and SHA-256 of each file, a few at once, and
// returns what is wrong with those that are.
func hashAll(out string, checks []check) map[string]string {
	var mu sync.Mutex
	bad := map[string]string{}
	work := make(chan check)
	var wg sync.WaitGroup
	for range max(2, runtime.NumCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if msg := checkFile(filepath.Join(out, filepath.FromSlash(c.rel)), c.want); msg != "" {
					mu.Lock()
					bad[c.rel] = msg
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range checks {
		work <- c
	}
	close(work)
	wg.Wait()
	return bad
}

func checkFile(p string, want genFile) string {
	f, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err.Error()
	}
	if n != want.Size {
		return fmt.Sprintf("%d bytes, want %d", n, want.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA {
		return "sha256 " + got[:12] + "…, want " + want.SHA[:12] + "…"
	}
	return ""
}

// verifyM checks a w1m output: each NNNNNNN.jpg must be the real file its
// last digit names. Nobody expects all million in the time allowed, so
// Expected is how many were there and Missing stays 0.
func verifyM(out string, g *group) (*verdict, error) {
	byDigit := map[byte]genFile{}
	for _, f := range g.Files {
		d := f.URL[len(f.URL)-len("0.jpg")]
		byDigit[d] = f
	}
	files, err := outputFiles(out)
	if err != nil {
		return nil, err
	}
	v := &verdict{}
	var checks []check
	for _, rel := range files {
		if isPart(rel) {
			v.Parts++
			continue
		}
		base := strings.TrimSuffix(rel, ".jpg")
		if len(base) != 7 || strings.Trim(base, "0123456789") != "" {
			v.Extra++
			v.problem("extra file %s", rel)
			continue
		}
		f := byDigit[base[6]]
		f.Out = rel
		checks = append(checks, check{rel, f})
	}
	v.Expected = len(checks)
	bad := hashAll(out, checks)
	for _, c := range checks {
		if msg, isBad := bad[c.rel]; isBad {
			v.Bad++
			v.problem("%s: %s", c.rel, msg)
			continue
		}
		v.OK++
		v.Bytes += c.want.Size
	}
	return v, nil
}

// countTitles counts the titles whose folder holds all their files.
func countTitles(v *verdict, out string, g *group) {
	perTitle := map[string]int{}
	for _, f := range g.Files {
		t, _, _ := strings.Cut(f.Out, "/")
		perTitle[t]++
	}
	v.TitlesOf = len(g.Titles)
	for _, t := range g.Titles {
		ents, err := os.ReadDir(filepath.Join(out, t))
		if err != nil {
			continue
		}
		n := 0
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".part") {
				n++
			}
		}
		if n == perTitle[t] {
			v.Titles++
		}
	}
}
