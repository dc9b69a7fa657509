// Package pipeline runs a crawl: the task types, the three stage loops (list,
// parse, download), and the supervisor that starts each stage as its own OS
// process, restarts one that dies, notices when every queue is drained,
// writes manifest.csv and sums up the run.
//
// Stages talk only through the durable queues of package store. A task is
// leased and acknowledged only once its effect (the next stage's tasks, or
// the file on disk and its record) is stored, so a process killed at any
// moment loses nothing and the same command resumes.
package pipeline
