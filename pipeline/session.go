package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

// The cookie session of a crawl is one, as a browser's is, though its
// stages run in separate processes (and, on Redis, on separate machines).
// It lives in the backend's meta under metaSession: every cookie that
// --cookies gave or a site set, the latest of each domain, path and name,
// and a version that each change bumps. A stage process saves the cookies
// its answers set before it puts the tasks it found after them, and those
// tasks carry the session's version (PageTask.Session, FileTask.Session):
// the process that takes one loads the session first if it holds an older
// one. A stage also loads the session as it starts (so a restart or a
// resume has it) and every sessionPoll.
const metaSession = "cookies"

// sessionPoll is how often a stage process looks for cookies that other
// processes saved, besides the versions its tasks carry.
const sessionPoll = 2 * time.Second

// sessionState is the session as the backend holds it.
type sessionState struct {
	Version int64           `json:"v"`
	Cookies []sessionCookie `json:"c"`
}

// sessionCookie is a cookie of the session and the version that stored it.
type sessionCookie struct {
	fetcher.Cookie
	At int64 `json:"at"`
}

// decodeSession reads the stored session; "" is an empty one.
func decodeSession(raw string) (sessionState, error) {
	var st sessionState
	if raw == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, fmt.Errorf("decode cookie session: %w", err)
	}
	return st, nil
}

// add makes cookies the session's next version, each replacing the one of
// the same domain, path and name. A deleted cookie stays as such, so that
// the processes holding it drop it too; one whose expiry has passed goes,
// every jar having dropped it by itself.
func (st *sessionState) add(cookies []fetcher.Cookie, now time.Time) {
	st.Version++
	kept := st.Cookies[:0]
	for _, c := range st.Cookies {
		if c.Expires <= 0 || c.Expires > now.Unix() {
			kept = append(kept, c)
		}
	}
	st.Cookies = kept
	at := make(map[string]int, len(st.Cookies))
	for i, c := range st.Cookies {
		at[cookieID(c.Cookie)] = i
	}
	for _, c := range cookies {
		sc := sessionCookie{Cookie: c, At: st.Version}
		if i, ok := at[cookieID(c)]; ok {
			st.Cookies[i] = sc
			continue
		}
		at[cookieID(c)] = len(st.Cookies)
		st.Cookies = append(st.Cookies, sc)
	}
}

// since returns the cookies stored after version v and up to version
// before (not included).
func (st *sessionState) since(v, before int64) []fetcher.Cookie {
	var out []fetcher.Cookie
	for _, c := range st.Cookies {
		if c.At > v && c.At < before {
			out = append(out, c.Cookie)
		}
	}
	return out
}

func cookieID(c fetcher.Cookie) string {
	return strings.ToLower(c.Domain) + "\x00" + c.Path + "\x00" + c.Name
}

// saveCookies adds cookies to the session stored in db as its newest.
func saveCookies(ctx context.Context, db store.Backend, cookies []fetcher.Cookie) error {
	if len(cookies) == 0 {
		return nil
	}
	return db.UpdateMeta(ctx, metaSession, func(old string) (string, error) {
		st, err := decodeSession(old)
		if err != nil {
			return "", err
		}
		st.add(cookies, time.Now())
		b, err := json.Marshal(st)
		return string(b), err
	})
}

// session shares the cookie jar of this process's client with the other
// processes of the crawl, through the backend (see metaSession).
type session struct {
	db      store.Backend
	client  *fetcher.Client
	log     io.Writer
	mu      sync.Mutex       // one save or load at a time
	pending []fetcher.Cookie // set by answers, not stored yet
	have    atomic.Int64     // the version of the stored session this client holds
}

func newSession(db store.Backend, client *fetcher.Client, log io.Writer) *session {
	return &session{db: db, client: client, log: log}
}

// save stores the cookies that this client's answers set since the last
// save, and returns the version of the session that holds them: a task
// put after it carries that version. A cookie that could not be stored is
// tried again at the next save. A nil session (a runner without one, in
// tests) saves nothing.
func (s *session) save(ctx context.Context) int64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, s.client.TakeCookies()...)
	if len(s.pending) == 0 {
		return s.have.Load()
	}
	var st sessionState
	err := s.db.UpdateMeta(context.WithoutCancel(ctx), metaSession, func(old string) (string, error) {
		var err error
		if st, err = decodeSession(old); err != nil {
			return "", err
		}
		st.add(s.pending, time.Now())
		b, err := json.Marshal(st)
		return string(b), err
	})
	if err != nil {
		fmt.Fprintf(s.log, "crawl: save cookies: %v\n", err)
		return s.have.Load()
	}
	if others := st.since(s.have.Load(), st.Version); len(others) > 0 {
		// What other processes stored meanwhile, then ours, which came
		// later.
		s.client.AddCookies(others)
		s.client.AddCookies(s.pending)
	}
	s.pending = nil
	s.have.Store(st.Version)
	return st.Version
}

// load takes in the cookies other processes stored, if this client does
// not hold version want of the session yet (math.MaxInt64: whatever is
// stored). A cookie this client's answers set and that is not stored yet
// stays.
func (s *session) load(ctx context.Context, want int64) {
	if s == nil || want <= s.have.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if want <= s.have.Load() {
		return
	}
	raw, err := s.db.Meta(ctx, metaSession)
	if err == nil {
		var st sessionState
		if st, err = decodeSession(raw); err == nil && st.Version > s.have.Load() {
			if others := st.since(s.have.Load(), math.MaxInt64); len(others) > 0 {
				s.client.AddCookies(others)
				// Ours not stored yet came later.
				s.pending = append(s.pending, s.client.TakeCookies()...)
				s.client.AddCookies(s.pending)
			}
			s.have.Store(st.Version)
		}
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(s.log, "crawl: load cookies: %v\n", err)
	}
}

// poll loads the session every sessionPoll until ctx is done.
func (s *session) poll(ctx context.Context) {
	t := time.NewTicker(sessionPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.load(ctx, math.MaxInt64)
		}
	}
}
