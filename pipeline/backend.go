package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"crawl/store"
)

// Backend is where a crawl's queues, seen set, file records and failures
// live: the embedded SQLite database (*store.DB) or a Redis server shared by
// several machines (*store.RedisDB).
type Backend interface {
	Put(ctx context.Context, tasks ...store.Task) (int, error)
	Lease(ctx context.Context, queue string, max int, owner string, ttl time.Duration) ([]store.Task, error)
	Ack(ctx context.Context, id int64, next ...store.Task) error
	AckFile(ctx context.Context, id int64, f store.File) error
	AckFiles(ctx context.Context, acks []store.FileAck) ([]error, error)
	Fail(ctx context.Context, id int64, url, reason, source string) error
	Extend(ctx context.Context, owner string, ttl time.Duration) error
	Release(ctx context.Context, owner string) (int, error)
	Counts(ctx context.Context) (map[string]store.QueueCounts, error)
	Failures(ctx context.Context) ([]store.Failure, error)
	Restart(ctx context.Context, queues ...string) error
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	FileByURL(ctx context.Context, url string) (store.File, bool, error)
	Close() error
}

// Lease timing. A Redis crawl spans machines: a dead worker's tasks must go
// back within seconds, so its leases are short and kept alive often.
const (
	leaseTTL            = 60 * time.Second
	heartbeatEvery      = 15 * time.Second
	redisLeaseTTL       = 6 * time.Second
	redisHeartbeatEvery = 2 * time.Second
)

// IsRedis reports whether the crawl's queues live on a Redis server.
func (c *Config) IsRedis() bool { return strings.HasPrefix(c.Queue, "redis://") }

func (c *Config) leaseTiming() (ttl, every time.Duration) {
	if c.IsRedis() {
		return redisLeaseTTL, redisHeartbeatEvery
	}
	return leaseTTL, heartbeatEvery
}

// DefaultJob names a Redis crawl after what it asks for and where its
// files go, so the same command run again joins the same crawl.
func (c *Config) DefaultJob() string {
	sum := sha256.Sum256([]byte(c.Fingerprint() + "\x00" + c.Out))
	return string(c.Mode) + "-" + hex.EncodeToString(sum[:4])
}

// openBackend opens the backend of cfg. local is the SQLite database in
// OUT/.crawl, which is the backend itself for an embedded crawl, and holds
// only name reservations when the queues are on Redis.
func openBackend(ctx context.Context, cfg *Config, local *store.DB) (Backend, func() error, error) {
	if !cfg.IsRedis() {
		return local, func() error { return nil }, nil
	}
	r, err := store.OpenRedis(ctx, cfg.Queue, cfg.Job)
	if err != nil {
		return nil, nil, err
	}
	r.SetWorker(cfg.Worker)
	return r, r.Close, nil
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
