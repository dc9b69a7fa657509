package fetcher

import (
	"context"
	"io"
)

// WithBodyGate has GetPage ask gate for room before the page's body, as
// it is decoded, grows past what gate granted: gate(ctx, n) returns once
// n bytes of body may be held (n grows in steps, and starts at the
// Content-Length when the server gave one), or an error, which ends the
// read and is GetPage's error. A caller bounds with it how much memory the
// pages it reads at once may take.
func WithBodyGate(gate func(ctx context.Context, n int64) error) GetOption {
	return func(o *getOptions) { o.gate = gate }
}

// firstGrant is the least a gate is asked for at once.
const firstGrant = 64 << 10

// gatedBody is a page body read under a gate (WithBodyGate).
type gatedBody struct {
	ctx     context.Context
	r       io.Reader
	gate    func(context.Context, int64) error
	size    int64 // the body's length when known, else 0
	read    int64
	granted int64
}

// gateBody returns body read under gate, if there is one; size is the
// body's length when known, else -1.
func gateBody(ctx context.Context, body io.Reader, gate func(context.Context, int64) error, size int64) io.Reader {
	if gate == nil {
		return body
	}
	return &gatedBody{ctx: ctx, r: body, gate: gate, size: max(size, 0)}
}

// Read reads no further than granted. Once the grant is used up it reads
// one byte before asking for more: a body that ends there needs no more.
func (g *gatedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if g.read < g.granted {
		p = p[:min(int64(len(p)), g.granted-g.read)]
		n, err := g.r.Read(p)
		g.read += int64(n)
		return n, err
	}
	var one [1]byte
	n, err := g.r.Read(one[:])
	if n == 0 {
		return 0, err
	}
	want := max(2*g.granted, g.read+1, g.size, firstGrant)
	if err := g.gate(g.ctx, want); err != nil {
		return 0, err
	}
	g.granted = want
	p[0] = one[0]
	g.read++
	return 1, err
}
