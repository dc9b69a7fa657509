package pipeline

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"

	"crawl/store"
)

// Queue names.
const (
	QueueList     = "list"
	QueueParse    = "parse"
	QueueDownload = "download"
)

// PageTask asks the list or parse stage to read one page.
type PageTask struct {
	URL  string `json:"u"`
	Page int    `json:"p"`           // listing page number
	Open bool   `json:"o,omitempty"` // open-ended walk: queue the next listing page when this one yields links
	// A continuation page of a gallery (--next) carries on its first page's
	// title and the count of images found so far.
	Title string `json:"t,omitempty"`
	N     int    `json:"n,omitempty"`
	// Gallery is the first page of a continuation page's gallery, and
	// Depth how many of the gallery's pages come before it.
	Gallery string `json:"g,omitempty"`
	Depth   int    `json:"d,omitempty"`
	// Cut marks the next page of a gallery that has run to --max-next
	// pages: it is not read, but recorded as the gallery's failure.
	Cut bool `json:"x,omitempty"`
	// From is the page this one was found on (a detail page's listing
	// page, a --next page's page before): its Referer.
	From string `json:"r,omitempty"`
	// Session is the version of the crawl's cookie session that holds the
	// cookies set before this task was found (see metaSession).
	Session int64 `json:"k,omitempty"`
}

// FileTask asks the download stage to fetch one file.
type FileTask struct {
	URL    string `json:"u"`
	Source string `json:"s,omitempty"` // the page or list the URL came from; a page is the Referer
	Page   int    `json:"p,omitempty"`
	N      int    `json:"n,omitempty"` // 1-based position of the URL on its page or list
	Title  string `json:"t,omitempty"`
	// Checked is set when the URL came from an image selector: an HTML answer is then an error page, not a file.
	Checked bool `json:"c,omitempty"`
	// Name is the --name-col cell of a CSV row: {name} when it is not empty.
	Name string `json:"m,omitempty"`
	// Cells are a CSV row's cells as far as the --name template uses them
	// ({1}, {2}…); cells it does not use are left empty.
	Cells []string `json:"x,omitempty"`
	// Session is the version of the crawl's cookie session that holds the
	// cookies set before this task was found (see metaSession).
	Session int64 `json:"k,omitempty"`
}

func pageTask(queue string, t PageTask) store.Task {
	b, _ := json.Marshal(t)
	return store.Task{Queue: queue, Key: t.URL, Data: b}
}

func fileTask(t FileTask) store.Task {
	b, _ := json.Marshal(t)
	return store.Task{Queue: QueueDownload, Key: t.URL, Data: b}
}

func decodeTask[T any](st store.Task) (T, error) {
	var t T
	if err := json.Unmarshal(st.Data, &t); err != nil {
		return t, fmt.Errorf("decode %s task %d: %w", st.Queue, st.ID, err)
	}
	return t, nil
}

// expandName fills the --name template for one file, {ext} taken from its
// URL. Field values never contribute folders: a '/' inside a title, name or
// cell becomes '_'.
func expandName(tmpl string, t FileTask) string { return expandNameExt(tmpl, t, "") }

// needsExt reports whether the --name template of t asks for an {ext} that
// its URL does not give: it then comes from the response (its Content-Type,
// else its first bytes), and the name is known only once that arrives.
func needsExt(tmpl string, t FileTask) bool {
	if !strings.Contains(tmpl, "{ext}") {
		return false
	}
	_, _, ext := urlName(t.URL)
	return ext == ""
}

// urlName splits the last segment of a URL's path into a name and an
// extension (with its dot; "" when there is none, or when what follows the
// last dot is too long or has spaces to be one, or when it is .m3u8), and
// gives its host.
func urlName(rawURL string) (host, name, ext string) {
	u, _ := url.Parse(rawURL)
	var base string
	if u != nil {
		host = u.Hostname()
		p := u.Path
		if dp, err := url.PathUnescape(p); err == nil {
			p = dp
		}
		base = path.Base(p)
		if base == "/" || base == "." {
			base = ""
		}
	}
	ext = path.Ext(base)
	name = strings.TrimSuffix(base, ext)
	if len(ext) > 12 || strings.ContainsAny(ext, " ") {
		name, ext = base, ""
	}
	if strings.EqualFold(ext, ".m3u8") {
		// An HLS playlist is saved as the video it lists, whose type
		// gives the extension.
		ext = ""
	}
	return host, name, ext
}

// expandNameExt is expandName with an extension for a URL that has none
// (found from the response; "" if none was).
func expandNameExt(tmpl string, t FileTask, found string) string {
	host, name, ext := urlName(t.URL)
	if ext == "" {
		ext = found
	}
	if n := cellValue(t.Name); n != "" {
		// "photo.jpg" named after a column is not "photo.jpg.jpg", and
		// "photo.jpeg" served as image/jpeg keeps its own spelling.
		if ext != "" && len(n) > len(ext) && strings.EqualFold(n[len(n)-len(ext):], ext) {
			n = n[:len(n)-len(ext)]
		} else if found != "" && ext == found && sameType(path.Ext(n), found) && len(n) > len(path.Ext(n)) {
			ext = ""
		}
		name = n
	}
	if name == "" {
		name = host
		if name == "" {
			name = "file"
		}
	}
	title := t.Title
	if strings.TrimSpace(title) == "" {
		title = "untitled"
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(rest[:i])
		f := rest[i+1 : i+j]
		switch f {
		case "name":
			b.WriteString(field(name))
		case "ext":
			b.WriteString(field(ext))
		case "host":
			b.WriteString(field(host))
		case "page":
			b.WriteString(strconv.Itoa(t.Page))
		case "n":
			b.WriteString(strconv.Itoa(t.N))
		case "title":
			b.WriteString(field(title))
		default:
			if k, ok := cellNumber(f); ok && k >= 1 {
				if k <= len(t.Cells) {
					b.WriteString(field(cellValue(t.Cells[k-1])))
				}
			} else {
				b.WriteString(rest[i : i+j+1])
			}
		}
		rest = rest[i+j+1:]
	}
	b.WriteString(rest)
	return b.String()
}

// fillExt puts ext where store.ExtMark is in a name kept by
// store.KeepName ("photo.jpg" kept from a cell does not become
// "photo.jpg.jpg").
func fillExt(kept, ext string) string {
	before, after, ok := strings.Cut(kept, store.ExtMark)
	if !ok {
		return kept
	}
	if ext != "" && (len(before) > len(ext) && strings.EqualFold(before[len(before)-len(ext):], ext) || sameType(path.Ext(before), ext)) {
		ext = ""
	}
	return before + ext + strings.ReplaceAll(after, store.ExtMark, "")
}

// sameType reports whether two extensions name the same media type, as
// .jpeg and .jpg do.
func sameType(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ta, tb := mime.TypeByExtension(strings.ToLower(a)), mime.TypeByExtension(strings.ToLower(b))
	ta, _, _ = strings.Cut(ta, ";")
	tb, _, _ = strings.Cut(tb, ";")
	return ta != "" && ta == tb
}

// Built once: a Replacer prepares its tables on first use.
var (
	slashes = strings.NewReplacer("/", "_", "\\", "_")
	breaks  = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")
)

func field(s string) string {
	return slashes.Replace(strings.TrimSpace(s))
}

// cellValue is a CSV cell as a piece of a file name: line breaks and tabs
// (a quoted cell may hold them) become spaces.
func cellValue(s string) string {
	return strings.TrimSpace(breaks.Replace(s))
}

// rowCells keeps the cells of row that the numbers in need name, and no
// more: a FileTask carries only what its name uses.
func rowCells(row []string, need []int) []string {
	last := 0
	for _, k := range need {
		if k <= len(row) {
			last = max(last, k)
		}
	}
	if last == 0 {
		return nil
	}
	out := make([]string, last)
	for _, k := range need {
		if k <= len(row) {
			out[k-1] = row[k-1]
		}
	}
	return out
}
