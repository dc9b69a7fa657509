package browser

import (
	"context"
	"math"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"crawl/fetcher"
)

// cookieID names a cookie by domain, path and name.
func cookieID(c fetcher.Cookie) string {
	return strings.ToLower(c.Domain) + "\x00" + c.Path + "\x00" + c.Name
}

// cookieParam is c as the browser takes it: a host-only cookie is set
// for its URL, a domain cookie for its domain.
func cookieParam(c fetcher.Cookie) *network.CookieParam {
	p := &network.CookieParam{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HTTPOnly: c.HTTPOnly}
	if c.Subdomains {
		p.Domain = "." + c.Domain
	} else {
		scheme := "http"
		if c.Secure {
			scheme = "https"
		}
		p.URL = scheme + "://" + c.Domain + c.Path
	}
	if c.Expires > 0 {
		p.Expires = cdp.TimeSinceEpoch(c.Expires)
	}
	return p
}

// fromBrowser is a cookie of the browser as the crawl records it.
func fromBrowser(bc *network.Cookie) fetcher.Cookie {
	c := fetcher.Cookie{
		Domain:     strings.TrimPrefix(bc.Domain, "."),
		Subdomains: strings.HasPrefix(bc.Domain, "."),
		Path:       bc.Path,
		Secure:     bc.Secure,
		HTTPOnly:   bc.HTTPOnly,
		Name:       bc.Name,
		Value:      bc.Value,
	}
	if !bc.Session && bc.Expires > 0 {
		c.Expires = int64(math.Ceil(bc.Expires))
	}
	return c
}

// sameCookie reports whether two records are one cookie with one value:
// the expiry is left out, since the browser may cut it.
func sameCookie(a, b fetcher.Cookie) bool {
	a.Expires, b.Expires = 0, 0
	return a == b
}

// giveCookies hands the cookies added since the last time to the browser
// of tab. Those it refused are given again next time.
func (b *Browser) giveCookies(tab context.Context) error {
	b.mu.Lock()
	give := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(give) == 0 {
		return nil
	}
	params := make([]*network.CookieParam, len(give))
	for i, c := range give {
		params[i] = cookieParam(c)
	}
	if _, err := chromedp.Call(tab, network.SetCookies, network.SetCookiesParams{Cookies: params}); err != nil {
		b.mu.Lock()
		b.pending = append(give, b.pending...)
		b.mu.Unlock()
		return err
	}
	return nil
}

// takeCookies returns the cookies that changed in the browser since the
// last look: new, or with a new value.
func (b *Browser) takeCookies(tab context.Context) ([]fetcher.Cookie, error) {
	res, err := chromedp.Call(tab, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var changed []fetcher.Cookie
	now := make(map[string]bool, len(res.Cookies))
	for _, bc := range res.Cookies {
		c := fromBrowser(bc)
		id := cookieID(c)
		now[id] = true
		if old, ok := b.known[id]; ok && sameCookie(old, c) {
			continue
		}
		b.known[id] = c
		changed = append(changed, c)
	}
	for id := range b.known {
		if !now[id] && !b.isPending(id) {
			// Gone (expired, deleted by the page, or refused): forgotten
			// here, not deleted from the crawl's session, since a cookie
			// the browser refused may still serve the crawl's requests.
			delete(b.known, id)
		}
	}
	return changed, nil
}

// isPending reports whether the cookie id is waiting to be given to the
// browser (so its absence there says nothing).
func (b *Browser) isPending(id string) bool {
	for _, c := range b.pending {
		if cookieID(c) == id {
			return true
		}
	}
	return false
}
