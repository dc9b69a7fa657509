package main

// The server: Debian's nginx, with a configuration of our own written into
// a temporary folder, one worker, started and stopped by the benchmark.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"
)

const nginxBin = "/usr/sbin/nginx"

var nginxConf = template.Must(template.New("nginx").Parse(`# written by crawl's bench; one worker, files from {{.Site}}
{{if .Root}}user root;
{{end}}worker_processes 1;
daemon off;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    server_tokens off;

    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    # No "charset" directive: text/html goes out without one, so the GBK
    # pages of w2 name theirs only in <meta http-equiv>.
    types {
        text/html  html;
        image/jpeg jpg jpeg;
        image/gif  gif;
        image/png  png;
        video/mp4  mp4;
        text/css   css;
        text/plain txt;
    }
    default_type application/octet-stream;

    server {
        listen 127.0.0.1:{{.Port}};
        root {{.Site}};

        location / {
        }
        # w3: extensionless URLs that are JPEGs.
        location /w3/f/ {
            types { }
            default_type image/jpeg;
        }
        # w4slow: the big file at 25 MiB/s per connection.
        location /slow/ {
            alias {{.Site}}/w4/;
            limit_rate 25m;
        }
        # w1m: a million distinct URLs, each one of ten real small files.
        location /m/ {
            rewrite "^/m/[0-9]*([0-9])\.jpg$" /mfiles/$1.jpg break;
            return 404;
        }
        location = /ready {
            return 204;
        }
    }
}
`))

type nginx struct {
	cmd  *exec.Cmd
	dir  string
	port int
	base string
	done chan error
}

// startNginx writes the configuration into dir and starts nginx serving
// site on a free port of 127.0.0.1, returning once it answers.
func startNginx(ctx context.Context, dir, site string) (*nginx, error) {
	if _, err := os.Stat(nginxBin); err != nil {
		return nil, fmt.Errorf("%s is missing (scripts/bench.sh installs Debian's nginx): %w", nginxBin, err)
	}
	site, err := filepath.Abs(site)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		n, err := tryNginx(ctx, dir, site, port)
		if err == nil {
			return n, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tryNginx(ctx context.Context, dir, site string, port int) (*nginx, error) {
	var conf strings.Builder
	err := nginxConf.Execute(&conf, map[string]any{
		"Dir": dir, "Site": site, "Port": port, "Root": os.Geteuid() == 0,
	})
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(nginxBin, "-p", dir, "-e", errLog, "-c", confPath)
	// Its own process group, so a Ctrl-C reaches only us and we stop it in
	// order; and it dies with us if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nginx{cmd: cmd, dir: dir, port: port, base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	go func() { n.done <- cmd.Wait() }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-n.done:
			b, _ := os.ReadFile(errLog)
			return nil, fmt.Errorf("nginx exited (%v): %s", err, lastLines(string(b), 3))
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		resp, err := client.Get(n.base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return n, nil
			}
		}
	}
	n.stop()
	return nil, errors.New("nginx did not answer within 10 s")
}

// stop asks nginx to shut down at once and waits for it.
func (n *nginx) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// pids returns nginx's master and worker process ids.
func (n *nginx) pids() []int {
	return append([]int{n.cmd.Process.Pid}, childrenOf(n.cmd.Process.Pid)...)
}

// version is what `nginx -v` prints.
func nginxVersion() string {
	out, err := exec.Command(nginxBin, "-v").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version:"))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
