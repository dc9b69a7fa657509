package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeStage writes a shell script that stands for the crawl binary: run as
// "SCRIPT __stage STAGE STATEDIR", it does what body says, with $2 the
// stage.
func fakeStage(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stage.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// wait returns the next value of ch, failing t after a generous time.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// TestChildrenEventsAndRestart: a stage process's events come through in
// order, its end comes once, and a restarted stage is a new process; after
// too many restarts the run gives up, naming the stage.
func TestChildrenEventsAndRestart(t *testing.T) {
	exe := fakeStage(t, `echo '{"e":"page","u":"http://x/1"}'
echo 'not an event'
echo '{"e":"file","u":"http://x/a.jpg","p":"a.jpg","b":3}'
echo "stage $2 says bye" >&2
exit 3`)
	var stderr eventLog
	var pids []int
	cs, err := newChildren(exe, t.TempDir(), &stderr, func(stage string, pid int) {
		if stage != QueueDownload {
			t.Errorf("started stage %q", stage)
		}
		pids = append(pids, pid)
	}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.start(QueueDownload); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for len(got) < 2 {
		got = append(got, wait(t, cs.events, "event"))
	}
	if got[0].Kind != EvPage || got[1].Kind != EvFile || got[1].Path != "a.jpg" || got[1].Bytes != 3 {
		t.Errorf("events %+v", got)
	}
	c := wait(t, cs.exits, "exit")
	if !cs.exited(c) || cs.exited(c) {
		t.Error("the end of a running child must be taken once")
	}
	if err := c.exitErr(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exitErr = %v, want exit status 3", err)
	}
	if !strings.Contains(stderr.String(), "stage download says bye") {
		t.Errorf("stderr %q: the process's log is lost", stderr.String())
	}

	if err := cs.restart(c); err != nil {
		t.Fatal(err)
	}
	c2 := wait(t, cs.exits, "exit of the restarted process")
	if !cs.exited(c2) || c2 == c || len(pids) != 2 || pids[0] == pids[1] {
		t.Errorf("restart: pids %v", pids)
	}
	if !strings.Contains(stderr.String(), "download stage exited (exit status 3); restarting it") {
		t.Errorf("stderr %q: the restart is not said", stderr.String())
	}

	cs.restarts = maxRestarts
	err = cs.restart(c2)
	if err == nil || !strings.Contains(err.Error(), "download stage keeps dying") {
		t.Errorf("restart after %d restarts: %v", maxRestarts, err)
	}
	for range 2 { // the events of the second process
		wait(t, cs.events, "event")
	}
}

// TestChildrenStop: stop asks each process to end (SIGTERM) and passes on
// what it says until it has.
func TestChildrenStop(t *testing.T) {
	exe := fakeStage(t, `trap 'echo "{\"e\":\"file\",\"u\":\"http://x/$2\"}"; exit 0' TERM
echo '{"e":"started"}'
while :; do sleep 0.05; done`)
	cs, err := newChildren(exe, t.TempDir(), &eventLog{}, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{QueueList, QueueDownload} {
		if err := cs.start(st); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if ev := wait(t, cs.events, "started event"); ev.Kind != EvStarted {
			t.Fatalf("event %+v, want started", ev)
		}
	}
	var last []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		cs.stop(func(ev Event) { last = append(last, ev.URL) })
	}()
	wait(t, done, "stop")
	if len(cs.running) != 0 {
		t.Errorf("%d processes still running", len(cs.running))
	}
	if len(last) != 2 || !strings.Contains(strings.Join(last, " "), "http://x/list") ||
		!strings.Contains(strings.Join(last, " "), "http://x/download") {
		t.Errorf("events sent while stopping: %v, want one from each stage", last)
	}
}

// TestChildrenWake: a word to wake a stage reaches its process as a byte on
// its stdin.
func TestChildrenWake(t *testing.T) {
	exe := fakeStage(t, `head -c 1 >/dev/null
echo '{"e":"file","u":"http://x/woken.jpg"}'`)
	cs, err := newChildren(exe, t.TempDir(), &eventLog{}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.start(QueueDownload); err != nil {
		t.Fatal(err)
	}
	cs.wake(QueueParse) // no such process: nothing happens
	cs.wake(QueueDownload)
	if ev := wait(t, cs.events, "event"); ev.URL != "http://x/woken.jpg" {
		t.Errorf("event %+v, want the woken stage's", ev)
	}
	c := wait(t, cs.exits, "exit")
	cs.exited(c)
	cs.wake(QueueDownload) // gone: nothing happens
}
