package pipeline

import (
	"encoding/json"
	"fmt"
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
}

// FileTask asks the download stage to fetch one file.
type FileTask struct {
	URL    string `json:"u"`
	Source string `json:"s,omitempty"` // the page or list the URL came from
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

// expandName fills the --name template for one file. Field values never
// contribute folders: a '/' inside a title, name or cell becomes '_'.
func expandName(tmpl string, t FileTask) string {
	u, _ := url.Parse(t.URL)
	var base, host string
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
	ext := path.Ext(base)
	name := strings.TrimSuffix(base, ext)
	if len(ext) > 12 || strings.ContainsAny(ext, " ") {
		name, ext = base, ""
	}
	if n := cellValue(t.Name); n != "" {
		// "photo.jpg" named after a column is not "photo.jpg.jpg".
		if ext != "" && len(n) > len(ext) && strings.EqualFold(n[len(n)-len(ext):], ext) {
			n = n[:len(n)-len(ext)]
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

func field(s string) string {
	s = strings.TrimSpace(s)
	return strings.NewReplacer("/", "_", "\\", "_").Replace(s)
}

// cellValue is a CSV cell as a piece of a file name: line breaks and tabs
// (a quoted cell may hold them) become spaces.
func cellValue(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s))
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
