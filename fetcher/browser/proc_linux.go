package browser

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dieWithParent makes the kernel kill Chromium when the process that
// started it dies, kill -9 included, and gives it a process group of its
// own, so that a Ctrl-C at the terminal reaches the crawl, which then
// closes the browser, rather than the browser first. Chromium's own
// children end when it does.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
}

var adoptOnce sync.Once

// adoptOrphans makes this process the parent that Chromium's child
// processes are handed to when Chromium exits before them, so that
// reapGroup reaps them (an init that reaps late would leave them as
// zombies for a while).
func adoptOrphans() {
	adoptOnce.Do(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
}

// reapGroup kills what is left of Chromium's process group pgid, and
// reaps this process's children (Chromium's processes it adopted, among
// them its crash reporter, which runs outside the group and ends by
// itself once the browser is gone) until none is left and the group is
// empty, or limit has passed. The stage process that runs a Browser
// starts no other program, so its children are the browser's.
func reapGroup(pgid int, limit time.Duration) {
	if pgid <= 0 {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(limit)
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case pid > 0 || errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.ECHILD) && !groupExists(pgid):
			return
		case !time.Now().Before(deadline):
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// groupExists reports whether a process of group pgid, a zombie included,
// is left.
func groupExists(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After "(comm)": state, ppid, pgrp.
		f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(f) > 2 && string(f[2]) == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// killUsing kills the processes whose command line names dir as their
// --user-data-dir (Chromium passes it to every child), and returns their
// IDs.
func killUsing(dir string) []int {
	want := []byte("--user-data-dir=" + dir)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var killed []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if bytes.Equal(arg, want) {
				killed = append(killed, pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
	return killed
}

// waitGone waits, up to limit, until none of the processes pids is left,
// not even as a zombie its new parent has yet to reap.
func waitGone(pids []int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for _, pid := range pids {
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
