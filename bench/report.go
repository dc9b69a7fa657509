package main

// Summing the runs of a workload up, and printing them.

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
)

// summary is one workload over its runs: medians, and the worst verdict.
type summary struct {
	Workload  string  `json:"workload"`
	What      string  `json:"what"`
	Runs      int     `json:"runs"`
	Status    string  `json:"status"`
	Message   string  `json:"message,omitempty"`
	Wall      float64 `json:"wall_s_median"`
	WallMin   float64 `json:"wall_s_min"`
	WallMax   float64 `json:"wall_s_max"`
	CPU       float64 `json:"cpu_s_median"`
	PeakRSS   float64 `json:"peak_tree_rss_mb_median"`
	PeakPSS   float64 `json:"peak_tree_pss_mb_median"`
	PeakMax   float64 `json:"peak_tree_rss_mb_max"`
	MaxProc   float64 `json:"max_process_rss_mb_median"`
	NginxCPU  float64 `json:"nginx_cpu_s_median"`
	OtherCPU  float64 `json:"other_cpu_s_median"`
	FilesOK   int     `json:"files_ok_min"`
	Files     int     `json:"files_expected"`
	Bytes     int64   `json:"bytes"`
	MiBps     float64 `json:"mib_per_s"`
	Titles    int     `json:"titles_ok_min,omitempty"`
	TitlesOf  int     `json:"titles,omitempty"`
	FirstFile float64 `json:"first_file_s_median,omitempty"`
	StopTime  float64 `json:"stop_s_median,omitempty"`
	PerSecond float64 `json:"files_per_s_median,omitempty"`
	Exits     []int   `json:"exits"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(w workload, recs []*runRecord, expected []genFile) *summary {
	s := &summary{Workload: w.id, What: w.what, Files: len(expected), FilesOK: -1, Titles: -1}
	for _, f := range expected {
		s.Bytes += f.Size
	}
	if w.bounded {
		s.Files, s.Bytes = 0, 0
	}
	var wall, cpu, peak, pss, proc, ngx, other, first, stop, rate, bytes, files []float64
	for _, r := range recs {
		s.Exits = append(s.Exits, r.Measured.Exit)
		if r.Status == "unsupported" {
			if s.Status == "" {
				s.Status, s.Message = "unsupported", r.Message
			}
			continue
		}
		if r.Status != "ok" && (s.Status == "" || s.Status == "ok" || s.Status == "unsupported") {
			s.Status = r.Status
			s.Message = r.Message
			if r.Verdict != nil && len(r.Verdict.Problems) > 0 {
				s.Message = joinNote(s.Message, r.Verdict.Problems[0])
			}
		} else if s.Status == "" || s.Status == "unsupported" {
			s.Status = "ok"
		}
		if r.Message != "" && s.Message == "" {
			s.Message = r.Message
		}
		m := r.Measured
		s.Runs++
		wall = append(wall, m.Wall)
		cpu = append(cpu, m.CPU)
		peak = append(peak, m.PeakRSSMB)
		pss = append(pss, m.PeakPSSMB)
		proc = append(proc, m.MaxProcMB)
		ngx = append(ngx, m.NginxCPU)
		other = append(other, m.OtherCPU)
		s.PeakMax = max(s.PeakMax, m.PeakRSSMB)
		if v := r.Verdict; v != nil {
			if s.FilesOK < 0 || v.OK < s.FilesOK {
				s.FilesOK = v.OK
			}
			if v.TitlesOf > 0 && (s.Titles < 0 || v.Titles < s.Titles) {
				s.Titles, s.TitlesOf = v.Titles, v.TitlesOf
			}
			bytes = append(bytes, float64(v.Bytes))
			files = append(files, float64(v.OK))
			if w.bounded && m.Wall > 0 {
				rate = append(rate, float64(v.OK)/m.Wall)
			}
		}
		if w.bounded {
			first = append(first, m.FirstFile)
			stop = append(stop, m.StopTime)
		}
	}
	if s.Status == "" {
		s.Status = "not run"
	}
	if s.Titles < 0 {
		s.Titles = 0
	}
	if s.FilesOK < 0 {
		s.FilesOK = 0
	}
	if s.Runs == 0 {
		return s
	}
	s.Wall, s.CPU, s.PeakRSS, s.MaxProc = median(wall), median(cpu), median(peak), median(proc)
	s.PeakPSS = median(pss)
	s.NginxCPU, s.OtherCPU = median(ngx), median(other)
	s.WallMin, s.WallMax = minOf(wall), maxOf(wall)
	if w.bounded {
		s.FirstFile, s.StopTime, s.PerSecond = median(first), median(stop), median(rate)
		s.Files = int(median(files))
		if s.Wall > 0 {
			s.MiBps = median(bytes) / s.Wall / (1 << 20)
		}
	} else if s.Wall > 0 {
		s.MiBps = float64(s.Bytes) / s.Wall / (1 << 20)
	}
	return s
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// printRun prints one run as it finishes.
func printRun(r *runRecord) {
	m := r.Measured
	fmt.Printf("  %-6s #%d: %6.2f s wall, %5.2f CPU-s (user %.2f, sys %.2f), peak %5.1f MB (PSS %.1f) over %d processes (largest %.1f MB), nginx %.2f s, other %.2f s",
		r.Workload, r.Run, m.Wall, m.CPU, m.User, m.Sys, m.PeakRSSMB, m.PeakPSSMB, m.Procs, m.MaxProcMB, m.NginxCPU, m.OtherCPU)
	if v := r.Verdict; v != nil {
		fmt.Printf(", %d/%d files ok", v.OK, v.Expected)
		if v.TitlesOf > 0 {
			fmt.Printf(", titles %d/%d", v.Titles, v.TitlesOf)
		}
	}
	if m.FirstFile != 0 || m.StopTime != 0 {
		if m.FirstFile >= 0 {
			fmt.Printf(", first file after %.3f s", m.FirstFile)
		} else {
			fmt.Printf(", no file")
		}
		if m.StopTime > 0 {
			fmt.Printf(", SIGINT to exit %.2f s", m.StopTime)
		}
	}
	fmt.Printf(", exit %d", m.Exit)
	if noisy(m.OtherCPU, m.Wall) {
		fmt.Printf(" (noisy)")
	}
	if r.Status != "ok" {
		fmt.Printf(" [%s]", strings.ToUpper(r.Status))
	}
	fmt.Println()
	if r.Message != "" {
		fmt.Printf("           %s\n", r.Message)
	}
	if v := r.Verdict; v != nil && r.Status != "ok" {
		for _, p := range v.Problems {
			fmt.Printf("           %s\n", p)
		}
		if more := v.problemsN - len(v.Problems); more > 0 {
			fmt.Printf("           … and %d more\n", more)
		}
		if v.Parts > 0 {
			fmt.Printf("           %d .part file(s) left\n", v.Parts)
		}
		fmt.Printf("           log: %s\n", r.Log)
	}
}

// printTable prints one row per workload.
func printTable(w io.Writer, sums []*summary, prof profile) {
	fmt.Fprintf(w, "%-8s %4s %7s %13s %6s %7s %7s %7s %7s %7s %7s %11s  %s\n",
		"workload", "runs", "wall s", "(min-max)", "CPU s", "peak MB", "PSS MB", "proc MB", "nginx s", "other s", "MiB/s", "files ok", "notes")
	fmt.Fprintln(w, strings.Repeat("-", 120))
	for _, s := range sums {
		if s.Runs == 0 {
			fmt.Fprintf(w, "%-8s %4s  %s: %s\n", s.Workload, "-", s.Status, s.Message)
			continue
		}
		files := fmt.Sprintf("%d/%d", s.FilesOK, s.Files)
		note := s.What
		switch {
		case s.Workload == "w1m":
			files = fmt.Sprintf("%d", s.FilesOK)
			ff := "none"
			if s.FirstFile >= 0 {
				ff = fmt.Sprintf("%.2f s", s.FirstFile)
			}
			note = fmt.Sprintf("%d URLs, stopped after %s: first file %s, %.0f files/s, SIGINT to exit %.2f s, exit %s",
				prof.MURLs, fmtDur(s.Wall-s.StopTime), ff, s.PerSecond, s.StopTime, exits(s.Exits))
		case s.TitlesOf > 0:
			note += fmt.Sprintf("; titles %d/%d", s.Titles, s.TitlesOf)
		}
		if noisy(s.OtherCPU, s.Wall) {
			note += "; NOISY: others used the CPU"
		}
		if s.Status != "ok" {
			note = strings.ToUpper(s.Status) + ": " + s.Message + "; " + note
		} else if s.Message != "" {
			note += "; " + s.Message
		}
		fmt.Fprintf(w, "%-8s %4d %7.3f %13s %6.2f %7.1f %7.1f %7.1f %7.2f %7.2f %7.0f %11s  %s\n",
			s.Workload, s.Runs, s.Wall, fmt.Sprintf("%.2f-%.2f", s.WallMin, s.WallMax), s.CPU, s.PeakRSS, s.PeakPSS, s.MaxProc,
			s.NginxCPU, s.OtherCPU, s.MiBps, files, note)
	}
	fmt.Fprintln(w, strings.Repeat("-", 120))
	fmt.Fprintln(w, "medians over the runs; CPU s = user+sys of crawl's whole process tree (wait4 rusage, reaped children included);")
	fmt.Fprintln(w, "peak MB = peak of the tree's summed RSS (sampled every 50 ms, 1 MB = 10^6 bytes), which counts the binary's pages once")
	fmt.Fprintln(w, "per process; PSS MB = the same for PSS, which splits shared pages among the processes; proc MB = largest single process;")
	fmt.Fprintln(w, "nginx s / other s = CPU of the server / of everything else on the machine during the run (noisy: over a quarter of")
	fmt.Fprintln(w, "the CPUs); MiB/s = 2^20 bytes per second of median wall; files ok = worst run, checked by SHA-256.")
}

// noisy says whether the rest of the machine used more than a quarter of
// its CPUs during a run.
func noisy(other, wall float64) bool {
	return other > 0.25*wall*float64(runtime.NumCPU())
}

func exits(codes []int) string {
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprint(c))
	}
	return strings.Join(parts, ",")
}

func fmtDur(sec float64) string {
	return fmt.Sprintf("%.0f s", sec)
}
