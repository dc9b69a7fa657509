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
// contribute folders: a '/' inside a title or name becomes '_'.
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
	r := strings.NewReplacer(
		"{name}", field(name),
		"{ext}", field(ext),
		"{host}", field(host),
		"{page}", strconv.Itoa(t.Page),
		"{n}", strconv.Itoa(t.N),
		"{title}", field(title),
	)
	return r.Replace(tmpl)
}

func field(s string) string {
	s = strings.TrimSpace(s)
	return strings.NewReplacer("/", "_", "\\", "_").Replace(s)
}
