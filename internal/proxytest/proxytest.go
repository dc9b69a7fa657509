// Package proxytest starts private, real proxy servers for tests: Debian's
// tinyproxy (HTTP) and microsocks (SOCKS5), on free loopback ports. Both
// make their outgoing connections from 127.0.0.2, so an origin server on
// 127.0.0.1 can tell a request that came through the proxy (its peer is
// 127.0.0.2) from one that did not (127.0.0.1).
package proxytest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crawl/internal/redistest"
)

// OutAddr is the address the proxies connect to origins from.
const OutAddr = "127.0.0.2"

// Proxy is a proxy server started by a test.
type Proxy struct {
	Addr string // 127.0.0.1:PORT
	out  *syncBuffer
	log  string // a log file, if the server writes one
}

// Log returns what the proxy logged so far (microsocks: a line per
// connection naming the host it was asked for; tinyproxy: its log file).
func (p *Proxy) Log() string {
	if p.log != "" {
		b, _ := os.ReadFile(p.log)
		return string(b)
	}
	return p.out.String()
}

// Tinyproxy starts tinyproxy, an HTTP proxy, and stops it when t ends. A
// missing tinyproxy fails the test: scripts/test.sh installs it.
func Tinyproxy(t testing.TB) *Proxy {
	t.Helper()
	bin := lookPath(t, "tinyproxy")
	dir := t.TempDir()
	return start(t, func(port int) (*exec.Cmd, *Proxy) {
		conf := filepath.Join(dir, "tinyproxy.conf")
		logFile := filepath.Join(dir, "tinyproxy.log")
		text := fmt.Sprintf("Port %d\nListen 127.0.0.1\nBind %s\nTimeout 60\nLogFile %q\nLogLevel Info\nPidFile %q\nMaxClients 100\nAllow 127.0.0.1\n",
			port, OutAddr, logFile, filepath.Join(dir, "tinyproxy.pid"))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return exec.Command(bin, "-d", "-c", conf), &Proxy{log: logFile}
	})
}

// Microsocks starts microsocks, a SOCKS5 proxy, and stops it when t ends;
// with a user, clients must give that user and password. A missing
// microsocks fails the test: scripts/test.sh installs it.
func Microsocks(t testing.TB, user, password string) *Proxy {
	t.Helper()
	bin := lookPath(t, "microsocks")
	return start(t, func(port int) (*exec.Cmd, *Proxy) {
		args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-b", OutAddr}
		if user != "" {
			args = append(args, "-u", user, "-P", password)
		}
		return exec.Command(bin, args...), &Proxy{}
	})
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for the proxy tests (scripts/test.sh installs it): %v", name, err)
	}
	return bin
}

// start runs the server made by cmdFor on a free port until it accepts
// connections, trying another port if it exits first.
func start(t testing.TB, cmdFor func(port int) (*exec.Cmd, *Proxy)) *Proxy {
	t.Helper()
	var lastErr error
	for range 5 {
		port, err := redistest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		cmd, p := cmdFor(port)
		p.Addr = "127.0.0.1:" + strconv.Itoa(port)
		p.out = &syncBuffer{}
		cmd.Stdout, cmd.Stderr = p.out, p.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", cmd.Path, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitListening(p.Addr, exited); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%s: %w; output:\n%s", filepath.Base(cmd.Path), err, p.out.String())
			continue // most likely the port was taken meanwhile
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return p
	}
	t.Fatalf("start proxy: %v", lastErr)
	return nil
}

// waitListening waits until addr accepts a connection, or the server exits.
func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before listening: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s after 10s", addr)
}

// Origin is a view of an origin server's peers: which requests came
// through a proxy.
type Origin struct {
	mu    sync.Mutex
	peers map[string][]string // path → peer IPs
}

// Note records the peer of a request for path; call it from a handler
// with r.URL.Path and r.RemoteAddr.
func (o *Origin) Note(path, remoteAddr string) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.peers == nil {
		o.peers = map[string][]string{}
	}
	o.peers[path] = append(o.peers[path], host)
}

// Proxied reports whether every request for path came from OutAddr, and
// how many there were.
func (o *Origin) Proxied(path string) (all bool, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.peers[path] {
		if p != OutAddr {
			return false, len(o.peers[path])
		}
	}
	return len(o.peers[path]) > 0, len(o.peers[path])
}

// Peers returns the peers of the requests for path, in order.
func (o *Origin) Peers(path string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.peers[path]...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Clone(s.b.String())
}
