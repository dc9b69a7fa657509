package pipeline

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// maxRestarts is how many times in all the stage processes of a run may be
// restarted after dying before the run gives up.
const maxRestarts = 20

// child is a running stage process.
type child struct {
	stage string
	cmd   *exec.Cmd
	done  chan error    // the process's exit, once its events are all read
	wake  chan struct{} // to the goroutine that writes the process's wake-ups
	gone  chan struct{} // closed once the process has exited
}

// children are the stage processes of a run, one per stage at a time,
// started by re-executing the crawl binary (StageCommand). What they say
// comes on events, and each one's end on exits. Only the goroutine that
// runs the supervisor loop uses a children.
type children struct {
	exe      string
	stateDir string
	stderr   io.Writer                   // the processes' logs
	started  func(stage string, pid int) // told of every process started; may be nil
	events   chan Event
	exits    chan *child
	running  map[string]*child
	restarts int
}

// newChildren sets up the processes of a run of n stages, started from
// exe ("": this binary) on the state folder stateDir.
func newChildren(exe, stateDir string, stderr io.Writer, started func(stage string, pid int), n int) (*children, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own binary: %w", err)
		}
	}
	return &children{
		exe:      exe,
		stateDir: stateDir,
		stderr:   stderr,
		started:  started,
		events:   make(chan Event, 256),
		exits:    make(chan *child, n),
		running:  map[string]*child{},
	}, nil
}

// start starts the process of stage.
func (cs *children) start(stage string) error {
	c, err := startStage(cs.exe, stage, cs.stateDir, cs.stderr, cs.events, cs.exits)
	if err != nil {
		return err
	}
	cs.running[stage] = c
	if cs.started != nil {
		cs.started(stage, c.cmd.Process.Pid)
	}
	return nil
}

// exited takes c, whose end came on exits, off the running processes. It
// is false when c was no longer running (stopped and replaced already).
func (cs *children) exited(c *child) bool {
	if cs.running[c.stage] != c {
		return false
	}
	delete(cs.running, c.stage)
	return true
}

// wake tells the process of stage, if one runs, that tasks of its queue
// were stored: a byte on its stdin, which an idle stage takes as the word
// to lease at once (RunStage). It never blocks: a word not yet passed on
// covers this one.
func (cs *children) wake(stage string) {
	if c := cs.running[stage]; c != nil {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// restart starts the stage of c, a process that died, again, after a pause
// that grows with every restart of the run. After maxRestarts it gives up
// with an error naming the stage and how its process ended.
func (cs *children) restart(c *child) error {
	cs.restarts++
	if cs.restarts > maxRestarts {
		return fmt.Errorf("%s stage keeps dying (%d restarts): %v", c.stage, cs.restarts, <-c.done)
	}
	fmt.Fprintf(cs.stderr, "crawl: %s stage exited (%v); restarting it\n", c.stage, c.exitErr())
	time.Sleep(time.Duration(cs.restarts) * 100 * time.Millisecond)
	return cs.start(c.stage)
}

// stop asks every running process to stop, waits for them (killing any
// that hangs), and passes the events they still send, and any left unread,
// to tally (nil: they are dropped).
func (cs *children) stop(tally func(Event)) {
	for _, c := range cs.running {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(15 * time.Second)
	for len(cs.running) > 0 {
		select {
		case c := <-cs.exits:
			cs.exited(c)
		case ev := <-cs.events:
			if tally != nil {
				tally(ev)
			}
		case <-deadline:
			for _, c := range cs.running {
				_ = c.cmd.Process.Kill()
			}
			deadline = time.After(5 * time.Second)
		}
	}
	for {
		select {
		case ev := <-cs.events:
			if tally != nil {
				tally(ev)
			}
			continue
		default:
		}
		return
	}
}

// startStage starts one process of stage and a goroutine that sends its
// events on events until its stdout ends, then its exit on c.done and c
// on exits.
func startStage(exe, stage, stateDir string, stderr io.Writer, events chan<- Event, exits chan<- *child) (*child, error) {
	cmd := exec.Command(exe, StageCommand, stage, stateDir)
	cmd.Stderr = stderr
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s stage: %w", stage, err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s stage: %w", stage, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s stage: %w", stage, err)
	}
	c := &child{stage: stage, cmd: cmd, done: make(chan error, 1), wake: make(chan struct{}, 1), gone: make(chan struct{})}
	go c.passWakeups(in)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
		c.done <- cmd.Wait()
		close(c.gone)
		exits <- c
	}()
	return c, nil
}

// passWakeups writes a byte to the process's stdin for each word on
// c.wake, until the process is gone.
func (c *child) passWakeups(in io.WriteCloser) {
	defer in.Close()
	for {
		select {
		case <-c.gone:
			return
		case <-c.wake:
			if _, err := in.Write([]byte{1}); err != nil {
				return
			}
		}
	}
}

// exitErr says how the process ended; nil while it runs.
func (c *child) exitErr() error {
	if c.cmd.ProcessState == nil {
		return nil
	}
	return errors.New(c.cmd.ProcessState.String())
}
