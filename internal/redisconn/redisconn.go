// Package redisconn opens the connections crawl makes to a Redis server,
// with the same options and the same early check wherever they are made:
// the queue backend in store and the host gate in fetcher share it.
//
// Importing it silences the go-redis client's own log lines ("failed to
// dial ..."): every error the client meets reaches its caller, which reports
// it once.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Dial connects to the Redis server at rawURL (redis://[user:pass@]host:port/db,
// rediss:// for TLS) and checks that it answers a PING. It returns the
// client and where, rawURL without its password, for error messages; where
// is set even when Dial fails.
//
// The client speaks RESP2, sends no CLIENT SETINFO and asks for no
// maintenance notifications, so that any server from 6.2 on accepts it.
// The check is made by a separate client that tries once, so that a wrong
// address fails at once; the returned client retries as go-redis does by
// default. The caller closes the client.
func Dial(ctx context.Context, rawURL string) (*redis.Client, string, error) {
	where := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		where = u.Redacted()
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, where, fmt.Errorf("redis URL %s: %w", where, err)
	}
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// crawl's commands and their replies are small (a batch of leased
	// tasks is a few KB), so each connection reads and writes through
	// buffers of 8 KiB (16 KiB on the pipeline pool) instead of go-redis's
	// 32 KiB (128 KiB): about 2.5 MB less for the processes of a crawl.
	opt.ReadBufferSize, opt.WriteBufferSize = 8<<10, 8<<10
	opt.PipelineReadBufferSize, opt.PipelineWriteBufferSize = 16<<10, 16<<10
	probeOpt := *opt
	probeOpt.MaxRetries, probeOpt.DialerRetries, probeOpt.PoolSize = -1, 1, 1
	probe := redis.NewClient(&probeOpt)
	err = probe.Ping(ctx).Err()
	probe.Close()
	if err != nil {
		return nil, where, fmt.Errorf("connect to redis %s: %w", where, err)
	}
	return redis.NewClient(opt), where, nil
}

// CheckJob reports what is wrong with the name of a crawl on a server (a
// job): it is not empty, at most 200 bytes, and has no braces (its keys
// wrap it in a Redis Cluster hash tag) or control characters.
func CheckJob(job string) error {
	if job == "" {
		return errors.New("empty job name")
	}
	if len(job) > 200 {
		return errors.New("job name longer than 200 bytes")
	}
	for _, c := range job {
		if c == '{' || c == '}' || c < 0x20 || c == 0x7f {
			return errors.New("job name with a brace or a control character")
		}
	}
	return nil
}

// quietLog drops the go-redis client's log lines.
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

// Quiet drops the go-redis client's own log lines ("failed to dial ...")
// for the whole process: the client has one logger per process, so this
// is the program's choice, made once as it starts. crawl reports every
// error those lines describe itself, once, in one line.
func Quiet() { redis.SetLogger(quietLog{}) }

// Script is a Lua script that a server runs by its SHA-1 (EVALSHA), so that
// a call sends the script's arguments and not its source.
type Script struct {
	*redis.Script
	src string
}

// NewScript returns the script whose source is src.
func NewScript(src string) Script {
	return Script{Script: redis.NewScript(src), src: src}
}

// LoadScripts loads scripts into the server's script cache, in one round
// trip. A script the server lost since (a restart, SCRIPT FLUSH) still
// runs: Run sends its source once more.
//
// (go-redis's Script.Load must not be given a pipeline: it would read the
// reply before the pipeline ran and forget the script's SHA-1, and every
// Run would then send EVALSHA of nothing followed by EVAL of the source.)
func LoadScripts(ctx context.Context, c redis.Cmdable, scripts ...Script) error {
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range scripts {
			p.ScriptLoad(ctx, s.src)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load scripts: %w", err)
	}
	return nil
}
