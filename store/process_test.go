package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a helper process: with helperEnv set, TestMain
// runs the helper named by it instead of the tests.
const (
	helperEnv   = "CRAWL_STORE_TEST_HELPER"
	helperDBEnv = "CRAWL_STORE_TEST_DB"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode, os.Getenv(helperDBEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(mode, path string) error {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		return err
	}
	switch mode {
	case "leaser":
		// Lease and ack until the queue is drained, printing each leased id.
		defer db.Close()
		owner := fmt.Sprintf("pid%d", os.Getpid())
		out := bufio.NewWriter(os.Stdout)
		defer out.Flush()
		for {
			got, err := db.Lease(ctx, "download", 4, owner)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				c, err := db.Counts(ctx)
				if err != nil {
					return err
				}
				if c["download"].Ready == 0 && c["download"].Leased == 0 {
					return nil
				}
				time.Sleep(time.Millisecond)
				continue
			}
			for _, t := range got {
				fmt.Fprintln(out, t.ID)
				if err := db.Ack(ctx, t.ID); err != nil {
					return err
				}
			}
		}
	case "opener":
		// Put tasks into a database that other processes create at the same time.
		defer db.Close()
		var tasks []Task
		for i := range 50 {
			tasks = append(tasks, Task{Queue: "list", Key: fmt.Sprintf("%d-%d", os.Getpid(), i)})
		}
		tasks = append(tasks, Task{Queue: "list", Key: "shared"})
		_, err := db.Put(ctx, tasks...)
		return err
	case "crash":
		// Do some work, report it done on stdout, then die without closing
		// anything.
		l, err := db.Lease(ctx, "list", 2, "crasher")
		if err != nil || len(l) != 2 {
			return fmt.Errorf("lease: %v %v", l, err)
		}
		if err := db.Ack(ctx, l[0].ID, Task{Queue: "download", Key: "http://h/1.jpg"}); err != nil {
			return err
		}
		d, err := db.Lease(ctx, "download", 1, "crasher")
		if err != nil || len(d) != 1 {
			return fmt.Errorf("lease download: %v %v", d, err)
		}
		if err := db.AckFile(ctx, d[0].ID, File{URL: "http://h/1.jpg", Path: "1.jpg", Bytes: 1}); err != nil {
			return err
		}
		if _, err := NewDir(filepath.Dir(path), db).Reserve(ctx, "http://h/2.jpg", "2.jpg"); err != nil {
			return err
		}
		fmt.Println("acked")
		p, _ := os.FindProcess(os.Getpid())
		p.Kill() // SIGKILL on Unix
		time.Sleep(time.Minute)
		return fmt.Errorf("still alive")
	}
	return fmt.Errorf("unknown helper %q", mode)
}

func helper(t *testing.T, mode, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestLeasersInProcesses drains one queue from three processes at once: no
// task is handed out twice. CRAWL_STORE_TEST_N=30000 makes it a stress test.
func TestLeasersInProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crawl.db")
	db := openAt(t, path)
	n := 1200
	if v, err := strconv.Atoi(os.Getenv("CRAWL_STORE_TEST_N")); err == nil {
		n = v
	}
	var tasks []Task
	for i := range n {
		tasks = append(tasks, Task{Queue: "download", Key: strconv.Itoa(i)})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 3)
	errs := make([]error, 3)
	for i := range outs {
		cmd := helper(t, "leaser", path)
		cmd.Stdout = &outs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("helper %d: %v", i, errs[i])
		}
		for _, id := range strings.Fields(outs[i].String()) {
			if p, dup := seen[id]; dup {
				t.Errorf("task %s leased by helper %d and helper %d", id, p, i)
			}
			seen[id] = i
		}
	}
	if len(seen) != n {
		t.Errorf("%d tasks leased, want %d", len(seen), n)
	}
	c, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["download"] != (QueueCounts{Done: n}) {
		t.Errorf("counts %+v", c["download"])
	}
}

// TestOpenFromProcessesAtOnce has four processes create one new database at
// the same moment and put tasks into it.
func TestOpenFromProcessesAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "crawl.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = helper(t, "opener", path).Run()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("helper %d: %v", i, err)
		}
	}
	c, err := openAt(t, path).Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c["list"] != (QueueCounts{Ready: 4*50 + 1}) {
		t.Errorf("counts %+v, want %d ready", c["list"], 4*50+1)
	}
}

// TestKilledProcessLosesNothing kills a process right after its acks
// returned: what it acknowledged is there, and its lease comes back with
// Release.
func TestKilledProcessLosesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crawl.db")
	db := openAt(t, path)
	if _, err := db.Put(ctx, Task{Queue: "list", Key: "page1"}, Task{Queue: "list", Key: "page2"}); err != nil {
		t.Fatal(err)
	}
	cmd := helper(t, "crash", path)
	out, err := cmd.Output()
	if !strings.Contains(string(out), "acked") {
		t.Fatalf("helper did not get to its acks: %v %q", err, out)
	}
	if err == nil {
		t.Fatal("helper exited normally; want it killed")
	}

	// A fresh handle, as a restarted stage would open.
	db2 := openAt(t, path)
	c, err := db2.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["list"] != (QueueCounts{Done: 1, Leased: 1}) || c["download"] != (QueueCounts{Done: 1}) {
		t.Errorf("after kill -9: %+v", c)
	}
	if f, ok, err := db2.FileByURL(ctx, "http://h/1.jpg"); err != nil || !ok || f.Path != "1.jpg" {
		t.Errorf("file record after kill -9: %+v %v %v", f, ok, err)
	}
	if p, err := NewDir(filepath.Dir(path), db2).Reserve(ctx, "http://h/2.jpg", "other.jpg"); err != nil || p != "2.jpg" {
		t.Errorf("reservation after kill -9: %q %v", p, err)
	}
	if n, err := db2.Release(ctx, "crasher"); err != nil || n != 1 {
		t.Errorf("release of the dead owner: %d %v", n, err)
	}
	if l, err := db2.Lease(ctx, "list", 5, "new"); err != nil || len(l) != 1 || l[0].Key != "page2" {
		t.Errorf("lease after release: %+v %v", l, err)
	}
}
