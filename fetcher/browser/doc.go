// Package browser loads pages in headless Chromium for crawl's --render:
// the page's scripts run, the page settles, it is scrolled down so that
// lazy content loads, and what comes back is the rendered HTML, the final
// URL, the URLs of the requests the page made and the cookies it set.
//
// One [Browser] is one Chromium process, started on the first [Browser.Render]
// and started again if it dies, with a bounded number of tabs at once. Every
// page load first passes the crawl's checks through a [Gate] (robots.txt,
// and a per-host slot under --per-host and --delay: a [fetcher.Client]
// is one). The browser carries the crawl's identity: its proxy, User-Agent,
// extra headers, the Referer the caller names and the cookies handed to
// [Browser.AddCookies]. It does not load images itself (the crawl downloads
// them over HTTP), so a page costs the site no more than its HTML, scripts,
// styles and the requests its scripts make.
//
// Chromium dies with the process that started it, even after a kill -9 of
// that process: the kernel kills the browser when its parent dies
// (Pdeathsig), and the browser's own children (zygote, renderers, utility
// processes) exit when their parent goes. [Browser.Close] stops it and
// removes its profile folder.
package browser
