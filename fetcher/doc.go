// Package fetcher is the HTTP client of crawl.
//
// A [Client] is created once per process with [New] and shared by every
// goroutine. It owns a single tuned http.Transport and adds what a polite,
// robust crawler needs on top of it:
//
//   - per-host limits: at most Config.PerHost requests in flight to one host
//     and at least Config.Delay between the starts of two requests to it.
//     With Config.LockDir set the limits hold across every process that uses
//     the same directory (flock(2) on small lock files, released by the
//     kernel when a process dies, so kill -9 is safe). With Config.Gate set
//     to a [RedisGate] they hold across every machine of a distributed crawl;
//   - robots.txt, fetched once per host and obeyed unless Config.IgnoreRobots;
//   - redirects followed as first requests: one to another host gives the
//     first host's slot back once the redirect is answered, obeys the
//     target's robots.txt and waits for a slot of the target's host (its
//     delay included), held until the body is closed;
//   - retries with exponential back-off and jitter for timeouts, connection
//     errors, 408, 429 and 5xx answers, obeying Retry-After;
//   - a stall timeout on response bodies: a body read that sees no byte for
//     Config.Timeout fails with an error wrapping [ErrStalled], while a long
//     body that keeps flowing is never cut off;
//   - Range/If-Range requests for resuming downloads ([WithRange]);
//   - content codings: a file is asked for as it is stored; one sent gzip-,
//     deflate- or br-encoded all the same is decoded, unless it is a
//     compressed archive, and is then whole or nothing (no ranges);
//     a page is decoded always, its cap counted decoded;
//   - the Referer a browser sends ([Referer], [WithReferer]), or the one
//     Config.Referer fixes, or none;
//   - a cookie jar seeded from a Netscape cookies.txt ([LoadCookies],
//     Config.Cookies) that keeps the cookies answers set; [Client.TakeCookies]
//     and [Client.AddCookies] let a crawl share them between processes.
//
// [Client.Get] streams: the caller reads and closes Response.Body, and the
// per-host slot is held until it does. [Client.GetPage] reads a whole page
// (HTML) into memory with a size cap. A non-2xx answer is a *[StatusError].
// [Client.Admit] puts a request another program makes (a page the browser
// of package fetcher/browser loads) through the same robots.txt and
// per-host checks.
package fetcher
