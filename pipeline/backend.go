package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"crawl/store"
)

// DefaultJob names a distributed crawl after what it asks for and where
// its files go, so the same command run again joins the same crawl.
func (c *Config) DefaultJob() string {
	sum := sha256.Sum256([]byte(c.Fingerprint() + "\x00" + c.Out))
	return string(c.Mode) + "-" + hex.EncodeToString(sum[:4])
}

// openBackend opens the queues of cfg (store.OpenQueue). local is the
// SQLite database in OUT/.crawl: the backend itself for an embedded crawl;
// when the queues are on a server, it holds only this machine's name
// reservations.
func openBackend(ctx context.Context, cfg *Config, local *store.DB) (store.Backend, func() error, error) {
	return store.OpenQueue(ctx, cfg.Queue, cfg.Job, local, store.Options{})
}

// ownerName names the holder of a stage process's leases: unique across
// the machines of a distributed crawl.
func ownerName(stage string, pid int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s-%s-%d", stage, host, pid)
}

// WorkerName is how this machine's worker is named in a distributed crawl:
// the host name, and the folder it writes to.
func WorkerName(out string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s:%s", host, out)
}
