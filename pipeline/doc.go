// Package pipeline runs a crawl: the task types, the three stage loops (list,
// parse, download), and the supervisor that starts each stage as its own OS
// process, restarts one that dies, notices when every queue is drained,
// writes manifest.csv and sums up the run. The URL lists and CSV files of
// crawl get are read by package [crawl/pipeline/input].
//
// The supervisor is Run (supervisor.go): it seeds the queues (seed.go),
// keeps one process per stage running (children.go), tallies their events
// into a Result (result.go), and at the end has store write manifest.csv
// and failed.csv.
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
