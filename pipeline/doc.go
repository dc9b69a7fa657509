// Package pipeline runs a crawl: the task types, the three stage loops (list,
// parse, download), and the supervisor that starts each stage as its own OS
// process, restarts one that dies, notices when every queue is drained,
// writes manifest.csv and sums up the run.
//
// Stages talk only through the durable queues of package store. A task is
// leased and acknowledged only once its effect (the next stage's tasks, or
// the file on disk and its record) is stored, so a process killed at any
// moment loses nothing and the same command resumes.
//
// Each stage is a type of its own over a runner they share (the config,
// the queues, the HTTP client, the pool of workers). The download stage is
// made of parts: a namer, which makes every decision about a file's name,
// and transfers, the ways a file's bytes come into its part (one stream,
// or split over several connections), chosen for each try in one place.
package pipeline
