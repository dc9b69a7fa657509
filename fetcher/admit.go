package fetcher

import (
	"context"
	"fmt"
	"net/url"
)

// Admit lets a request to rawURL that another program makes (a page a
// browser loads) through the same checks as the client's own: robots.txt
// (unless Config.IgnoreRobots) and a slot of its host under Config.PerHost
// and Config.Delay, in this process, in Config.LockDir and at
// Config.Gate. release gives the slot back (safe to call more than once).
// A URL robots.txt disallows is an error wrapping ErrDisallowed.
func (c *Client) Admit(ctx context.Context, rawURL string) (release func(), err error) {
	u, err := c.prepare(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	release, err = c.acquire(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return release, nil
}

// PageReferer is the Referer a request for target made from the page at
// from carries under Config.Referer and Config.Header, the one the
// client's own requests carry (see [WithReferer]); "" sends none.
func (c *Client) PageReferer(from, target string) string {
	if c.userReferer {
		return c.cfg.Header.Get("Referer")
	}
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	return c.referer(from, u)
}
