// Command crawl walks listing pages, finds the images and videos behind them
// and downloads them, or downloads every URL of a list; see README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"crawl/internal/redisconn"
)

func main() {
	redisconn.Quiet() // every error those lines describe reaches the user once, from crawl
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
