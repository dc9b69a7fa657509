package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"crawl/fetcher"
	"crawl/parser"
	"crawl/store"
)

// pageStage is what the list and parse stages share: reading HTML pages,
// and the compiled selectors that pick links and images off them.
type pageStage struct {
	*runner
	cp     *compiled
	src    pageSource // nil: over HTTP (see source)
	budget *budget    // for the pages read at once (budget.go)
}

// listStage reads listing pages: their detail links go to the parse
// queue, or, without --links, their images to the download queue.
type listStage struct{ pageStage }

// run reads the listing pages of the list queue until ctx is cancelled.
func (s *listStage) run(ctx context.Context) error {
	n := min(s.cfg.Workers, 4)
	return s.pool(ctx, QueueList, n, 2*n, s.listPage, nil)
}

// parseStage reads detail pages: their images go to the download queue.
type parseStage struct{ pageStage }

// run reads the detail pages of the parse queue until ctx is cancelled.
func (s *parseStage) run(ctx context.Context) error {
	return s.pool(ctx, QueueParse, s.cfg.Workers, 2*s.cfg.Workers, s.detailPage, nil)
}

// readPage loads (from the stage's source: HTTP, or a browser with
// --render) and parses one HTML page.
// t is the task that asks for it, with the page it was found on (its
// Referer) and the version of the cookie session it needs. The cookies
// its answer set are saved in the session; the tasks found on the page
// carry the version returned.
// The page's memory is held under g until the caller releases it.
func (s *pageStage) readPage(ctx context.Context, t PageTask, g *pageGrant) (doc *parser.Document, session int64, err error) {
	s.sess.load(ctx, t.Session)
	page, err := s.source().get(ctx, t, g)
	session = s.sess.save(ctx)
	if err != nil {
		return nil, session, s.tooLarge(err)
	}
	rawURL := t.URL
	doc, err = parser.Parse(page.URL, page.Body, page.Header.Get("Content-Type"), page.forced)
	if err != nil {
		return nil, session, fmt.Errorf("parse %s: %w", rawURL, err)
	}
	doc.Requests = page.requests
	s.ev.emit(Event{Kind: EvPage, URL: rawURL, Info: doc.Encoding})
	if s.cfg.Verbose {
		fmt.Fprintf(s.log, "crawl: page %s (%s) %q\n", rawURL, doc.Encoding, doc.Title())
		for _, note := range parser.Notes(doc, s.cp.links, s.cp.images, s.cp.next, s.cp.title) {
			fmt.Fprintf(s.log, "crawl: page %s: %s\n", rawURL, note)
		}
	}
	return doc, session, nil
}

// title is the {title} of a page: from --title, else its <title>.
func (s *pageStage) title(doc *parser.Document) string {
	if s.cp.title != nil {
		if t := s.cp.title.Text(doc); t != "" {
			return t
		}
	}
	return doc.Title()
}

// images turns the image selector's matches on doc into download tasks,
// numbered from n0+1, that need version session of the cookie session.
func (s *pageStage) images(doc *parser.Document, source string, page int, title string, n0 int, session int64) []store.Task {
	var out []store.Task
	seen := map[string]bool{}
	for _, u := range s.cp.images.URLs(doc) {
		u = s.cfg.imageURL(s.cp, u)
		if seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, fileTask(FileTask{URL: u, Source: source, Page: page, N: n0 + len(out) + 1, Title: title, Checked: true, Session: session}))
	}
	return out
}

// listPage reads one listing page: its detail links go to the parse queue
// (or, without --links, its images to the download queue).
func (s *listStage) listPage(ctx context.Context, t store.Task) {
	pt, err := decodeTask[PageTask](t)
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	g := s.budget.grant(s.cfg.maxPageSize())
	defer g.release()
	doc, session, err := s.readPage(ctx, pt, g)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		var se *fetcher.StatusError
		if pt.Open && errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusGone) {
			s.ack(ctx, t) // the end of an open-ended walk
			return
		}
		s.fail(ctx, t, pt.URL, "", fmt.Errorf("listing page %d: %w", pt.Page, err))
		return
	}
	var next []store.Task
	task := func(i int) store.Task { return next[i] }
	n := 0
	if s.cp.links != nil {
		links := s.cp.links.URLs(doc)
		n = len(links)
		task = func(i int) store.Task {
			return pageTask(QueueParse, PageTask{URL: links[i], Page: pt.Page, From: pt.URL, Session: session})
		}
	} else {
		next = s.images(doc, pt.URL, pt.Page, s.title(doc), 0, session)
		n = len(next)
	}
	var walk []store.Task
	if pt.Open && n > 0 {
		p := pt.Page + 1
		walk = append(walk, pageTask(QueueList, PageTask{URL: s.cfg.PageURL(p), Page: p, Open: true, Session: session}))
	}
	s.ackPage(ctx, t, n, task, walk...)
}

// detailPage reads one detail page and queues its images.
func (s *parseStage) detailPage(ctx context.Context, t store.Task) {
	pt, err := decodeTask[PageTask](t)
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	if pt.Cut {
		err := fmt.Errorf("gallery cut at %d pages by --max-next; its next page %s was not read", s.cfg.maxNext(), pt.URL)
		fmt.Fprintf(s.log, "crawl: gallery %s cut at %d pages by --max-next; its next page %s was not read\n", pt.Gallery, s.cfg.maxNext(), pt.URL)
		s.fail(ctx, t, pt.Gallery, "", err)
		return
	}
	g := s.budget.grant(s.cfg.maxPageSize())
	defer g.release()
	doc, session, err := s.readPage(ctx, pt, g)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.fail(ctx, t, pt.URL, "", fmt.Errorf("detail page: %w", err))
		return
	}
	title := pt.Title
	if title == "" {
		title = s.title(doc)
	}
	next := s.images(doc, pt.URL, pt.Page, title, pt.N, session)
	if s.cp.next != nil {
		// The gallery goes on on another page. The parse queue's seen set
		// (a URL is put once per run) stops a cycle; --max-next stops a
		// gallery that never ends.
		gallery := pt.Gallery
		if gallery == "" {
			gallery = pt.URL
		}
		for _, u := range s.cp.next.URLs(doc) {
			if u != pt.URL {
				next = append(next, pageTask(QueueParse, PageTask{URL: u, Page: pt.Page, Title: title, N: pt.N + len(next), From: pt.URL, Session: session,
					Gallery: gallery, Depth: pt.Depth + 1, Cut: pt.Depth+1 >= s.cfg.maxNext()}))
				break
			}
		}
	}
	s.ackPage(ctx, t, len(next), func(i int) store.Task { return next[i] })
}
