package pipeline

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"crawl/fetcher"
	"crawl/parser"
	"crawl/store"
)

// Video streams (HLS): a playlist of segments saved as one file. The
// segments are fetched several at once through the same client (so
// --per-host and the retries hold), decrypted, stripped of any image header
// a site put before them, and appended to the part in playlist order. How
// many whole segments the part holds is kept as its validator (see
// hlsMark), so that a stopped stream resumes after the last whole segment.

const (
	maxPlaylistBytes = 8 << 20   // the largest playlist read
	maxSegmentBytes  = 256 << 20 // the largest segment (held in memory until written)
	maxKeyBytes      = 1 << 10   // the largest key body read (a key is 16 bytes)
	hlsMarkPrefix    = "hls1 "   // starts the validator of a part holding a stream
)

// Content types of the files a stream is saved as.
const (
	typeTS   = "video/mp2t"
	typeFMP4 = "video/mp4"
)

// isPlaylist reports whether the answer to rawURL is an HLS playlist: by its
// URL's .m3u8, its Content-Type, or its first bytes. It is cheap: no
// allocation for an ordinary file.
func isPlaylist(rawURL string, a *answer) bool {
	if a.resp.Offset != 0 {
		return false
	}
	ct := a.ctype
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for _, t := range []string{"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"} {
		if strings.EqualFold(ct, t) {
			return true
		}
	}
	p := rawURL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if len(p) >= 5 && strings.EqualFold(p[len(p)-5:], ".m3u8") {
		return true
	}
	return parser.IsPlaylist(a.head)
}

// vagueType reports whether a Content-Type says too little to rule out a
// playlist: then its first bytes are read to tell.
func vagueType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	return ct == "" || ct == "text/plain" || ct == "application/octet-stream" || ct == "binary/octet-stream"
}

// hls brings an HLS stream into the part: the media playlist the first
// answer is (or, for a master playlist, its chosen variant's), its segments
// in order.
type hls struct{ d *fileDownload }

// resumesStream reports whether the part holds the start of a stream that
// an earlier try wrote.
func resumesStream(p *store.Part) bool {
	return p != nil && p.Size() > 0 && strings.HasPrefix(p.Validator(), hlsMarkPrefix)
}

func (h hls) fetch(ctx context.Context, first *answer) (string, int64, error) {
	d := h.d
	body, base, err := h.playlist(ctx, first)
	if err != nil {
		return "", 0, err
	}
	video, audio, err := h.media(ctx, body, base)
	if err != nil {
		return "", 0, err
	}
	for _, pl := range []*parser.Playlist{video, audio} {
		if pl == nil {
			continue
		}
		if err := checkStream(pl); err != nil {
			return "", 0, errFinal{err}
		}
	}
	ctype := typeTS
	if video.Segments[0].Map != nil {
		ctype = typeFMP4
	}
	save := ctype // the type of the file saved
	if d.s.cfg.Remux == remuxMP4 || audio != nil && ctype == typeFMP4 {
		save = typeFMP4
	}
	if d.part == nil {
		// The name waited for the type: the stream's, not the playlist's.
		if err := d.nameAfter(ctx, save, nil); err != nil {
			return "", 0, err
		}
	}
	if save != ctype && !strings.EqualFold(path.Ext(d.nm.path), ".mp4") {
		// Named before (a part an earlier run without --remux left) or by
		// a template without {ext}: the file stays what its name says.
		save = ctype
	}
	tracks, err := h.tracks(ctx, video, audio)
	if err != nil {
		return "", 0, err
	}
	for _, t := range tracks {
		if err := h.segments(ctx, t); err != nil {
			return "", 0, err
		}
	}
	if save == ctype && audio == nil {
		return ctype, d.part.Size(), nil
	}
	return h.join(ctx, save, audio != nil)
}

// track is one media playlist of a stream, the part its segments go to,
// and the first segment that part lacks.
type track struct {
	pl   *parser.Playlist
	part *store.Part
	from int
	ts   bool // MPEG-TS segments, which may hide behind an image header
}

// tracks lays out where the stream's playlists go: the video's (or the
// only one's) into the part, a separate audio rendition's into a part of
// its own (see audioPart), each resumed after the segments it holds.
func (h hls) tracks(ctx context.Context, video, audio *parser.Playlist) ([]track, error) {
	d := h.d
	ts := []track{{pl: video, part: d.part}}
	if audio != nil {
		p, err := h.audioPart(ctx)
		if err != nil {
			return nil, errFinal{err}
		}
		ts = append(ts, track{pl: audio, part: p})
	}
	held := int64(0)
	for i := range ts {
		t := &ts[i]
		t.ts = t.pl.Segments[0].Map == nil
		from, err := resume(t.pl, t.part)
		if err != nil {
			return nil, err
		}
		t.from = from
		held += t.part.Size()
	}
	d.m.set(held, -1)
	return ts, nil
}

// playlist returns the playlist's body and its URL after redirects: read
// from the first answer, or asked for anew when resuming.
func (h hls) playlist(ctx context.Context, first *answer) ([]byte, string, error) {
	d := h.d
	if first == nil {
		page, err := d.s.client.GetPage(ctx, d.ft.URL, maxPlaylistBytes, d.referer())
		if err != nil {
			return nil, "", errFinal{fmt.Errorf("playlist: %w", err)} // the fetcher has already retried
		}
		return page.Body, page.URL, nil
	}
	if first.headErr != nil {
		return nil, "", first.headErr
	}
	rest, err := io.ReadAll(io.LimitReader(first.body, maxPlaylistBytes+1-int64(len(first.head))))
	if err != nil {
		return nil, "", fmt.Errorf("read playlist %s: %w", d.ft.URL, err)
	}
	// Its per-host slot is free for the segments from here on.
	first.resp.Body.Close()
	body := append(append(make([]byte, 0, len(first.head)+len(rest)), first.head...), rest...)
	if len(body) > maxPlaylistBytes {
		return nil, "", errFinal{fmt.Errorf("playlist over %d bytes", maxPlaylistBytes)}
	}
	return body, first.resp.URL, nil
}

// media parses the playlist; a master playlist leads to its chosen
// variant's media playlist, and to that of its audio when the audio is a
// rendition of its own (audio nil when not).
func (h hls) media(ctx context.Context, body []byte, base string) (video, audio *parser.Playlist, err error) {
	pl, err := parser.ParsePlaylist(body, base)
	if err != nil {
		return nil, nil, errFinal{err}
	}
	if !pl.Master {
		return pl, nil, nil
	}
	v, err := parser.ChooseVariant(pl.Variants, h.d.s.cfg.Variant)
	if err != nil {
		return nil, nil, errFinal{err}
	}
	if video, err = h.mediaPlaylist(ctx, "variant", v.URI); err != nil {
		return nil, nil, err
	}
	a, ok := pl.AudioOf(v)
	if !ok {
		return video, nil, nil
	}
	if _, err := ffmpegPath(); err != nil {
		return nil, nil, errFinal{fmt.Errorf("the stream's audio is a separate rendition (%q), and joining it to the video needs ffmpeg: %w", a.Name, err)}
	}
	if audio, err = h.mediaPlaylist(ctx, "audio", a.URI); err != nil {
		return nil, nil, err
	}
	return video, audio, nil
}

// mediaPlaylist fetches and parses the media playlist at uri, the
// master's what (its variant, or its audio).
func (h hls) mediaPlaylist(ctx context.Context, what, uri string) (*parser.Playlist, error) {
	page, err := h.d.s.client.GetPage(ctx, uri, maxPlaylistBytes, h.d.referer())
	if err != nil {
		return nil, errFinal{fmt.Errorf("%s playlist: %w", what, err)}
	}
	pl, err := parser.ParsePlaylist(page.Body, page.URL)
	if err != nil {
		return nil, errFinal{fmt.Errorf("%s playlist %s: %w", what, uri, err)}
	}
	if pl.Master {
		return nil, errFinal{fmt.Errorf("%s playlist %s is a master playlist too", what, uri)}
	}
	return pl, nil
}

// checkStream tells why a media playlist cannot be saved, before anything
// is written: a live stream, no segments, or an encryption other than
// AES-128 with a key given as itself.
func checkStream(pl *parser.Playlist) error {
	if !pl.EndList {
		return errors.New("live HLS stream (no EXT-X-ENDLIST): live streams are not supported yet")
	}
	if len(pl.Segments) == 0 {
		return errors.New("HLS playlist lists no segment")
	}
	for _, s := range pl.Segments {
		for _, k := range []*parser.Key{s.Key, mapKey(s.Map)} {
			switch {
			case k == nil:
			case !k.Identity():
				return fmt.Errorf("HLS stream protected by DRM (KEYFORMAT %q): not supported", k.Format)
			case k.Method == "SAMPLE-AES" || k.Method == "SAMPLE-AES-CTR":
				return fmt.Errorf("HLS stream encrypted with %s: not supported", k.Method)
			case k.Method != "AES-128":
				return fmt.Errorf("HLS stream encrypted with %q: not supported", k.Method)
			case k.URI == "":
				return errors.New("HLS stream encrypted with AES-128 but no key URI")
			}
		}
	}
	return nil
}

func mapKey(m *parser.Map) *parser.Key {
	if m == nil {
		return nil
	}
	return m.Key
}

// fingerprint names the segment list of a stream, so that a part is
// resumed only against the same list. Query strings are left out: some
// sites sign each segment's URL anew for every playlist they serve.
func fingerprint(pl *parser.Playlist) string {
	hs := sha256.New()
	for _, s := range pl.Segments {
		u := s.URI
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		fmt.Fprintf(hs, "%s %d %d %d\n", u, s.Range.Offset, s.Range.Length, s.Sequence)
	}
	return hex.EncodeToString(hs.Sum(nil)[:12])
}

// hlsMark is the validator of a part holding the first n segments (bytes
// long) of the stream whose segment list is fp. It ends with "." so that a
// sidecar cut short is no mark.
func hlsMark(fp string, n int, bytes int64) string {
	return fmt.Sprintf("%s%s %d %d .", hlsMarkPrefix, fp, n, bytes)
}

// parseMark reads a mark hlsMark wrote.
func parseMark(v string) (fp string, n int, bytes int64, ok bool) {
	f := strings.Fields(strings.TrimPrefix(v, hlsMarkPrefix))
	if !strings.HasPrefix(v, hlsMarkPrefix) || len(f) != 4 || f[3] != "." {
		return "", 0, 0, false
	}
	n, err1 := strconv.Atoi(f[1])
	bytes, err2 := strconv.ParseInt(f[2], 10, 64)
	return f[0], n, bytes, err1 == nil && err2 == nil && n >= 0 && bytes >= 0
}

// resume returns the first segment of pl the part p lacks: after those
// its mark says it holds whole, the bytes of a segment cut short dropped.
// A part that holds anything else starts over.
func resume(pl *parser.Playlist, p *store.Part) (int, error) {
	fp := fingerprint(pl)
	if p.Size() > 0 {
		if mfp, n, bytes, ok := parseMark(p.Validator()); ok && mfp == fp && n <= len(pl.Segments) && bytes <= p.Size() {
			if err := p.Truncate(bytes); err != nil {
				return 0, errFinal{err}
			}
			return n, nil
		}
		if err := p.Reset(); err != nil {
			return 0, errFinal{err}
		}
	}
	if err := p.SetValidator(hlsMark(fp, 0, 0)); err != nil {
		return 0, errFinal{err}
	}
	return 0, nil
}

// segmentResult is a segment fetched and made ready to write, or why not.
type segmentResult struct {
	data []byte
	err  error
}

// segments fetches the segments of t from t.from on, up to --per-host at
// once, and appends them to its part in playlist order: a fetched segment waits
// in a window of at most twice that many until those before it are
// written. After each segment the part's mark says how many it holds. The
// first failure stops the others; the part keeps the whole segments
// written, for the next try.
func (h hls) segments(ctx context.Context, t track) error {
	d, pl, part := h.d, t.pl, t.part
	n := max(1, d.s.cfg.PerHost)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys := &keyCache{keys: make(map[string][]byte), referer: d.referer()}
	pending := make(chan chan segmentResult, 2*n)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { // the dispatcher: starts the fetches in order
		defer wg.Done()
		defer close(pending)
		sem := make(chan struct{}, n)
		for i := t.from; i < len(pl.Segments); i++ {
			ch := make(chan segmentResult, 1)
			select {
			case pending <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- segmentResult{err: ctx.Err()}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				data, err := h.segment(ctx, pl, i, keys, t.ts)
				ch <- segmentResult{data: data, err: err}
			}()
		}
	}()
	fp := fingerprint(pl)
	w := d.m.writer(part)
	i := t.from
	for ch := range pending {
		r := <-ch
		if r.err != nil {
			cancel()
			return r.err
		}
		if _, err := w.Write(r.data); err != nil {
			cancel()
			return errFinal{err} // names the part
		}
		i++
		if err := part.SetValidator(hlsMark(fp, i, part.Size())); err != nil {
			cancel()
			return errFinal{err}
		}
		if limit := d.s.cfg.MaxSize; limit > 0 && part.Size() > limit {
			cancel()
			return errFinal{fmt.Errorf("%w (over %d bytes)", errTooBig, limit)}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if i != len(pl.Segments) {
		return fmt.Errorf("stream stopped at segment %d of %d: %w", i, len(pl.Segments), io.ErrUnexpectedEOF)
	}
	return nil
}

// segment returns the bytes segment i adds to the file: its initialization
// section first when that changes here, then the segment, each decrypted,
// a TS segment without any image header before it.
func (h hls) segment(ctx context.Context, pl *parser.Playlist, i int, keys *keyCache, ts bool) ([]byte, error) {
	s := pl.Segments[i]
	var out []byte
	if s.Map != nil && (i == 0 || pl.Segments[i-1].Map != s.Map) {
		b, err := h.resource(ctx, s.Map.URI, s.Map.Range)
		if err != nil {
			return nil, fmt.Errorf("segment %d: init section: %w", i, err)
		}
		if b, err = keys.decrypt(ctx, h.d.s.client, s.Map.Key, s.Sequence, b); err != nil {
			return nil, fmt.Errorf("segment %d: init section: %w", i, err)
		}
		out = b
	}
	b, err := h.resource(ctx, s.URI, s.Range)
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", i, err)
	}
	if b, err = keys.decrypt(ctx, h.d.s.client, s.Key, s.Sequence, b); err != nil {
		return nil, fmt.Errorf("segment %d: %w", i, err)
	}
	if ts {
		switch at := parser.TSStart(b); {
		case at < 0:
			return nil, errFinal{fmt.Errorf("segment %d: an image header with no MPEG-TS data after it", i)}
		case at > 0:
			b = b[at:]
		}
	}
	if out == nil {
		return b, nil
	}
	return append(out, b...), nil
}

// resource fetches rawURL, or the range r of it, whole into memory; a body
// that breaks off is asked for again, up to --retries times (the client
// retries the requests themselves).
func (h hls) resource(ctx context.Context, rawURL string, r parser.ByteRange) ([]byte, error) {
	d := h.d
	for try := 0; ; try++ {
		b, err := h.resourceOnce(ctx, rawURL, r)
		var final errFinal
		if err == nil || ctx.Err() != nil || errors.As(err, &final) || !fetcher.Retryable(err) || try >= d.s.client.Retries() {
			return b, err
		}
		d.s.ev.emit(Event{Kind: EvRetry, URL: rawURL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d.s.client.Backoff(try, err)):
		}
	}
}

func (h hls) resourceOnce(ctx context.Context, rawURL string, r parser.ByteRange) ([]byte, error) {
	// The player's requests come from the page, as a browser's do.
	opts := []fetcher.GetOption{h.d.referer()}
	if !r.Whole() {
		if r.Length == 0 {
			return nil, nil
		}
		if r.Length > maxSegmentBytes {
			return nil, errFinal{fmt.Errorf("%s: range of %d bytes, over %d", rawURL, r.Length, maxSegmentBytes)}
		}
		opts = append(opts, fetcher.WithRangeEnd(r.Offset, r.Offset+r.Length, ""))
	}
	resp, err := h.d.s.client.Get(ctx, rawURL, opts...)
	if err != nil && !r.Whole() && errors.Is(err, fetcher.ErrBadRange) {
		// A 206 that names no range: the whole resource, and the range
		// cut out of it.
		resp, err = h.d.s.client.Get(ctx, rawURL, h.d.referer())
	}
	if err != nil {
		return nil, errFinal{err} // the fetcher has already retried the request
	}
	defer resp.Body.Close()
	limit := int64(maxSegmentBytes)
	skip := int64(0)
	if !r.Whole() {
		switch {
		case resp.StatusCode == http.StatusPartialContent && resp.Offset == r.Offset:
		case resp.StatusCode == http.StatusOK:
			skip = r.Offset // the whole resource came: cut the range out
		default:
			return nil, errFinal{fmt.Errorf("%s: asked for bytes from %d, got them from %d", rawURL, r.Offset, resp.Offset)}
		}
		limit = r.Length
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, resp.Body, skip); err != nil {
			return nil, fmt.Errorf("read %s: %w", rawURL, noEOF(err))
		}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rawURL, err)
	}
	switch {
	case r.Whole() && int64(len(b)) > limit:
		return nil, errFinal{fmt.Errorf("%s: segment over %d bytes", rawURL, maxSegmentBytes)}
	case r.Whole() && resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength:
		return nil, fmt.Errorf("read %s: %d of %d bytes: %w", rawURL, len(b), resp.ContentLength, io.ErrUnexpectedEOF)
	case !r.Whole() && int64(len(b)) < r.Length:
		return nil, fmt.Errorf("read %s: %d of %d bytes: %w", rawURL, len(b), r.Length, io.ErrUnexpectedEOF)
	case !r.Whole():
		b = b[:r.Length]
	}
	return b, nil
}

// noEOF turns an io.EOF that cut a body short into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// keyCache holds the AES-128 keys of a stream by URI, each fetched once
// (through the same client as the segments) or decoded from a data: URI.
type keyCache struct {
	mu      sync.Mutex
	keys    map[string][]byte
	referer fetcher.GetOption // the page the stream was found on
}

// key returns the 16 bytes of the key at uri.
func (kc *keyCache) key(ctx context.Context, c *fetcher.Client, uri string) ([]byte, error) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if k, ok := kc.keys[uri]; ok {
		return k, nil
	}
	k, isData, err := parser.DataURI(uri)
	if err != nil {
		return nil, errFinal{fmt.Errorf("key: %w", err)}
	}
	if !isData {
		page, err := c.GetPage(ctx, uri, maxKeyBytes, kc.referer)
		if err != nil {
			return nil, errFinal{fmt.Errorf("key: %w", err)}
		}
		k = page.Body
	}
	if len(k) != aes.BlockSize {
		return nil, errFinal{fmt.Errorf("key %s: %d bytes, not %d", shortURI(uri), len(k), aes.BlockSize)}
	}
	kc.keys[uri] = k
	return k, nil
}

// shortURI is uri for an error message: a data: URI's payload left out.
func shortURI(uri string) string {
	if i := strings.IndexByte(uri, ','); i >= 0 && strings.HasPrefix(strings.ToLower(uri), "data:") {
		return uri[:i] + ",…"
	}
	return uri
}

// decrypt decrypts b with k (AES-128-CBC, PKCS#7 padding): with its IV, or
// the big-endian media sequence number seq when it gives none. A nil k is
// no encryption.
func (kc *keyCache) decrypt(ctx context.Context, c *fetcher.Client, k *parser.Key, seq int64, b []byte) ([]byte, error) {
	if k == nil {
		return b, nil
	}
	key, err := kc.key(ctx, c, k.URI)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, errFinal{fmt.Errorf("decrypt: %d bytes, not whole AES blocks", len(b))}
	}
	iv := k.IV
	if iv == nil {
		iv = make([]byte, aes.BlockSize)
		binary.BigEndian.PutUint64(iv[8:], uint64(seq))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errFinal{fmt.Errorf("decrypt: %w", err)}
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(b, b)
	pad := int(b[len(b)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errFinal{errors.New("decrypt: bad padding (wrong key?)")}
	}
	for _, p := range b[len(b)-pad:] {
		if int(p) != pad {
			return nil, errFinal{errors.New("decrypt: bad padding (wrong key?)")}
		}
	}
	return b[:len(b)-pad], nil
}
