package main

// Measuring one run of crawl: wall time from start to exit; user+sys CPU of
// the whole process tree from wait4's rusage (the kernel adds to a process
// the usage of every child it has waited for, so stage processes the
// supervisor reaped are counted); peak summed RSS of the tree, sampled from
// /proc; and, as cross-checks, the CPU each process of the tree was last
// seen to have used and any process of the tree still alive after the top
// one exited (an unwaited or orphaned child, whose CPU rusage would miss).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// procStat is what we read of /proc/PID/stat.
type procStat struct {
	pid, ppid    int
	utime, stime uint64 // clock ticks
	start        uint64 // start time, ticks after boot: tells reused pids apart
	rss          int64  // pages
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseStat(pid, b)
}

// parseStat reads the fields after the command name, which is in
// parentheses and may itself hold spaces and parentheses.
func parseStat(pid int, b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); field k of proc(5) is f[k-3].
	if len(f) < 22 {
		return procStat{}, false
	}
	num := func(k int) uint64 {
		n, _ := strconv.ParseUint(f[k-3], 10, 64)
		return n
	}
	return procStat{
		pid:   pid,
		ppid:  int(num(4)),
		utime: num(14),
		stime: num(15),
		start: num(22),
		rss:   int64(num(24)),
	}, true
}

// allStats reads every process of the machine.
func allStats() map[int]procStat {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	m := make(map[int]procStat, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			m[pid] = st
		}
	}
	return m
}

// descendants returns root and every process below it in stats.
func descendants(stats map[int]procStat, root int) []procStat {
	kids := map[int][]int{}
	for pid, st := range stats {
		kids[st.ppid] = append(kids[st.ppid], pid)
	}
	var out []procStat
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		st, ok := stats[pid]
		if !ok {
			continue
		}
		out = append(out, st)
		queue = append(queue, kids[pid]...)
	}
	return out
}

func childrenOf(pid int) []int {
	var out []int
	for _, st := range descendants(allStats(), pid) {
		if st.pid != pid {
			out = append(out, st.pid)
		}
	}
	return out
}

// cpuTicks sums the user+sys ticks of pids.
func cpuTicks(pids []int) uint64 {
	var t uint64
	for _, pid := range pids {
		if st, ok := readStat(pid); ok {
			t += st.utime + st.stime
		}
	}
	return t
}

// machineBusyTicks is the machine's non-idle CPU time, from /proc/stat.
func machineBusyTicks() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy uint64
	for i, s := range f[1:] {
		n, _ := strconv.ParseUint(s, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
		case 8, 9: // guest times are already in user and nice
		default:
			busy += n
		}
	}
	return busy
}

type procKey struct {
	pid   int
	start uint64
}

// sampler follows the process tree under root every interval.
type sampler struct {
	root     int
	interval time.Duration
	pageSize int64

	mu       sync.Mutex
	peak     int64 // bytes, summed over the tree
	peakPSS  int64 // bytes, the tree's summed PSS (shared pages split)
	procs    int   // most processes seen at once
	samples  int
	lastSeen map[procKey]procStat
	// rssLog holds (seconds since start, tree RSS bytes) every second.
	rssLog  [][2]float64
	started time.Time

	stop chan struct{}
	done chan struct{}
}

func startSampler(root int, interval time.Duration) *sampler {
	s := &sampler{
		root: root, interval: interval, pageSize: int64(os.Getpagesize()),
		lastSeen: map[procKey]procStat{}, started: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		nextLog := 0.0
		for {
			rss := s.sample()
			if el := time.Since(s.started).Seconds(); el >= nextLog {
				s.mu.Lock()
				s.rssLog = append(s.rssLog, [2]float64{el, float64(rss)})
				s.mu.Unlock()
				nextLog = float64(int(el) + 1)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) sample() int64 {
	tree := descendants(allStats(), s.root)
	var rss, pss int64
	for _, st := range tree {
		rss += st.rss * s.pageSize
		pss += readPSS(st.pid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tree) == 0 {
		return 0
	}
	s.samples++
	s.peak = max(s.peak, rss)
	s.peakPSS = max(s.peakPSS, pss)
	s.procs = max(s.procs, len(tree))
	for _, st := range tree {
		s.lastSeen[procKey{st.pid, st.start}] = st
	}
	return rss
}

// readPSS returns the proportional set size of process pid in bytes: its
// RSS with each shared page divided among the processes that map it (the
// binary's pages, mapped by every stage process, count once in all). 0 if
// it cannot be read.
func readPSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// finish stops sampling. It returns the CPU seconds the tree's processes
// were last seen to have used, and how many of them (other than root) are
// still alive; those it kills.
func (s *sampler) finish() (sampledCPU float64, orphans int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	var ticks uint64
	for k, st := range s.lastSeen {
		ticks += st.utime + st.stime
		if k.pid == s.root {
			continue
		}
		if now, ok := readStat(k.pid); ok && now.start == k.start {
			orphans++
			_ = syscall.Kill(k.pid, syscall.SIGKILL)
		}
	}
	return float64(ticks) / clockTicks, orphans
}

// runSpec is one run of crawl.
type runSpec struct {
	bin     string
	args    []string
	dir     string   // working folder
	env     []string // added to ours
	log     string   // stdout and stderr go here
	timeout time.Duration
	// bound > 0: interrupt crawl (SIGINT to its process group, as Ctrl-C
	// does) after this long.
	bound time.Duration
	// stop, when closed, interrupts crawl as bound does.
	stop <-chan struct{}
	// watch: report when the first finished file appears in this folder.
	watch    string
	nginxPID func() []int
}

// measured is what one run gave.
type measured struct {
	Wall       float64 `json:"wall_s"`
	User       float64 `json:"user_s"`
	Sys        float64 `json:"sys_s"`
	CPU        float64 `json:"cpu_s"`
	PeakRSSMB  float64 `json:"peak_tree_rss_mb"`
	PeakPSSMB  float64 `json:"peak_tree_pss_mb"`
	MaxProcMB  float64 `json:"max_process_rss_mb"`
	Procs      int     `json:"max_processes"`
	Samples    int     `json:"rss_samples"`
	SampledCPU float64 `json:"sampled_cpu_s"`
	Orphans    int     `json:"orphans,omitempty"`
	Exit       int     `json:"exit"`
	Signal     string  `json:"signal,omitempty"`
	TimedOut   bool    `json:"timed_out,omitempty"`
	FirstFile  float64 `json:"first_file_s,omitempty"` // -1: none appeared
	StopTime   float64 `json:"stop_s,omitempty"`       // SIGINT to exit
	NginxCPU   float64 `json:"nginx_cpu_s"`
	OtherCPU   float64 `json:"other_cpu_s"`
	// RSSLog is the tree's RSS in MB about every second.
	RSSLog [][2]float64 `json:"rss_log_mb,omitempty"`
	// started is when crawl was started.
	started time.Time
}

const mb = 1e6

// run starts crawl, samples it, and waits for it.
func run(ctx context.Context, sp runSpec) (*measured, error) {
	logf, err := os.Create(sp.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(sp.bin, sp.args...)
	cmd.Dir = sp.dir
	cmd.Env = append(os.Environ(), sp.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches only us, and
	// we can signal crawl's whole tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	syscall.Sync() // the last run's writeback is not this run's cost
	ngx0 := cpuTicks(sp.nginxPID())
	busy0 := machineBusyTicks()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	smp := startSampler(pid, 50*time.Millisecond)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	m := &measured{started: start}
	firstFile := make(chan float64, 1)
	if sp.watch != "" {
		m.FirstFile = -1
		go watchFirstFile(sp.watch, start, done, firstFile)
	}
	var interruptAt time.Time
	var boundC <-chan time.Time
	if sp.bound > 0 {
		boundC = time.After(sp.bound)
	}
	timeoutC := time.After(sp.timeout)
	var killC <-chan time.Time
	signalGroup := func(sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }
wait:
	for {
		select {
		case <-done:
			break wait
		case t := <-firstFile:
			m.FirstFile = t
		case <-sp.stop:
			sp.stop = nil
			interruptAt = time.Now()
			signalGroup(syscall.SIGINT)
			killC = time.After(30 * time.Second)
		case <-boundC:
			interruptAt = time.Now()
			signalGroup(syscall.SIGINT)
			killC = time.After(30 * time.Second)
		case <-ctx.Done():
			signalGroup(syscall.SIGINT)
			killC = time.After(10 * time.Second)
		case <-timeoutC:
			m.TimedOut = true
			signalGroup(syscall.SIGINT)
			killC = time.After(10 * time.Second)
		case <-killC:
			signalGroup(syscall.SIGKILL)
			killC = nil
		}
	}
	end := time.Now()
	m.Wall = end.Sub(start).Seconds()
	if !interruptAt.IsZero() {
		m.StopTime = end.Sub(interruptAt).Seconds()
	}
	select {
	case t := <-firstFile:
		m.FirstFile = t
	default:
	}
	busy1 := machineBusyTicks()
	ngx1 := cpuTicks(sp.nginxPID())
	m.SampledCPU, m.Orphans = smp.finish()
	m.PeakRSSMB = float64(smp.peak) / mb
	m.PeakPSSMB = float64(smp.peakPSS) / mb
	m.Procs = smp.procs
	m.Samples = smp.samples
	for _, e := range smp.rssLog {
		m.RSSLog = append(m.RSSLog, [2]float64{round(e[0], 1), round(e[1]/mb, 1)})
	}

	ps := cmd.ProcessState
	m.Exit = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		m.Signal = ws.Signal().String()
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		m.User = tv(ru.Utime)
		m.Sys = tv(ru.Stime)
		m.MaxProcMB = float64(ru.Maxrss) * 1024 / mb // kilobytes on Linux
	}
	m.CPU = m.User + m.Sys
	m.NginxCPU = float64(ngx1-ngx0) / clockTicks
	m.OtherCPU = max(0, float64(busy1-busy0)/clockTicks-m.CPU-m.NginxCPU)
	return m, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// watchFirstFile reports how long after start the first finished file
// (not a .part, not crawl's own files) appeared directly in dir.
func watchFirstFile(dir string, start time.Time, done <-chan struct{}, found chan<- float64) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if ents, err := os.ReadDir(dir); err == nil {
			for _, e := range ents {
				n := e.Name()
				if e.Type().IsRegular() && !strings.HasPrefix(n, ".") && !strings.HasSuffix(n, ".part") &&
					n != "manifest.csv" && n != "failed.csv" {
					found <- time.Since(start).Seconds()
					return
				}
			}
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}
