// Package redistest starts a private, real redis-server for tests.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server started by a test.
type Server struct {
	URL  string // redis://127.0.0.1:PORT/0
	Addr string
}

// Start starts a private redis-server (no persistence) on a free loopback
// port in t.TempDir and stops it when t ends. A missing redis-server fails
// the test: scripts/test.sh installs it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for the Redis backend tests (scripts/test.sh installs it): %v", err)
	}
	dir := t.TempDir()
	var lastErr error
	for range 5 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		var out bytes.Buffer
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
		cmd.Stdout, cmd.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitRedis(addr, cmd.Process.Pid, exited); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; output:\n%s", err, out.String())
			continue // most likely the port was taken meanwhile
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return &Server{URL: "redis://" + addr + "/0", Addr: addr}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitRedis waits until the server at addr answers PING, or it exits. The
// server that answers must be process pid: another test's redis-server may
// hold the port while pid fails to take it and exits.
func waitRedis(addr string, pid int, exited <-chan error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		info, err := c.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			if !strings.Contains(info, fmt.Sprintf("process_id:%d\r\n", pid)) {
				return fmt.Errorf("another redis-server answers on %s", addr)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s does not answer: %w", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncWriter serializes writes from the server's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Calls returns how many times the server ran each command since it
// started, by the names INFO commandstats gives them ("evalsha",
// "xreadgroup", "script|load"...): calls, and failed calls. Commands that
// scripts run count too.
func (s *Server) Calls(t testing.TB) map[string][2]int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("read command stats: %v", err)
	}
	m := map[string][2]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var n [2]int
		for _, f := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				n[0], _ = strconv.Atoi(v)
			case "failed_calls":
				n[1], _ = strconv.Atoi(v)
			}
		}
		m[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return m
}

// Watch records the commands the server runs from now on, as MONITOR
// prints them, one a line: `1700000000.123456 [0 127.0.0.1:5555] "HGET"
// "key" "field"`; commands that scripts run say [0 lua]. The func it
// returns stops the recording and returns every line up to the moment it
// was called.
func (s *Server) Watch(t testing.TB) (stop func() []string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("watch redis commands: %v", err)
	}
	rd := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		conn.Close()
		t.Fatalf("watch redis commands: %v", err)
	}
	if l, err := rd.ReadString('\n'); err != nil || strings.TrimSpace(l) != "+OK" {
		conn.Close()
		t.Fatalf("watch redis commands: MONITOR answered %q, %v", l, err)
	}
	var (
		mu    sync.Mutex
		lines []string
		fail  error
	)
	done := make(chan struct{})
	mark := fmt.Sprintf("redistest-watch-end-%d", time.Now().UnixNano())
	go func() {
		defer close(done)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				mu.Lock()
				fail = err
				mu.Unlock()
				return
			}
			l = strings.TrimSuffix(strings.TrimPrefix(strings.TrimRight(l, "\r\n"), "+"), "\r")
			if strings.Contains(l, mark) {
				return
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return func() []string {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, DisableIdentity: true})
		err := c.Echo(context.Background(), mark).Err()
		c.Close()
		if err != nil {
			t.Fatalf("end the watch of redis commands: %v", err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("end the watch of redis commands: MONITOR never showed the mark")
		}
		conn.Close()
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			t.Fatalf("watch redis commands: %v", fail)
		}
		return lines
	}
}
