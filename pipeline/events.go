package pipeline

import (
	"encoding/json"
	"io"
	"sync"
)

// Event is one line of newline-delimited JSON that a stage process writes on
// its stdout for the supervisor.
type Event struct {
	Kind   string `json:"e"`           // see the Ev* constants
	URL    string `json:"u,omitempty"` // the file or page concerned
	Path   string `json:"p,omitempty"` // a file's path under OUT
	Bytes  int64  `json:"b,omitempty"`
	Reason string `json:"r,omitempty"`
	Info   string `json:"i,omitempty"` // e.g. the encoding a page was read in
}

// Event kinds.
const (
	EvFile    = "file"    // a file was downloaded
	EvSkip    = "skip"    // a file was already on disk from an earlier run
	EvTooBig  = "toobig"  // a file was skipped for --max-size
	EvFail    = "fail"    // a URL failed for good
	EvPage    = "page"    // a page was read
	EvRetry   = "retry"   // a request will be tried again
	EvStarted = "started" // the stage is up
)

// emitter writes events; safe for concurrent use.
type emitter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newEmitter(w io.Writer) *emitter { return &emitter{enc: json.NewEncoder(w)} }

func (e *emitter) emit(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(ev) // the supervisor going away is noticed through the context
}
