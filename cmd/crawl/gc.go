package main

import (
	"os"
	"runtime/debug"

	"crawl/pipeline"
)

// gcPercent is the garbage collector's target (as GOGC) for the supervisor
// (seeding from a list, one event per file) and the parse stage (a tree per
// page). What stays live in them is small, well under 1 MB (queues and
// records are in the database), so their heap holds mostly garbage between
// collections and Go's floor of a 4 MB heap goal at GOGC=100 sets their
// size; halving it halves that floor for little collection. The download
// stage keeps the default: it allocates a request and its records per
// file, and at 50 it collected three times as often, for about an eighth
// more CPU on the w1 bench. The list stage allocates too little to collect
// at all in a usual run.
const gcPercent = 50

// tuneGC sets the collector's target for the process of role (a stage name
// or "supervisor"), unless the user chose one with GOGC.
func tuneGC(role string) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	switch role {
	case "supervisor", pipeline.QueueParse:
		debug.SetGCPercent(gcPercent)
	}
}
