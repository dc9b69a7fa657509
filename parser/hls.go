package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// HLS playlists (RFC 8216): a master playlist lists variants of one
// stream, a media playlist lists the segments of one variant. This file
// reads both, against the playlist's own URL, without any network.

// Playlist is an HLS playlist: a master playlist (Master set, Variants) or
// a media playlist (Segments).
type Playlist struct {
	// Master: the playlist lists variants, not segments.
	Master bool
	// Variants are the master playlist's EXT-X-STREAM-INF entries, in
	// playlist order; I-frame playlists are not among them.
	Variants []Variant
	// Audio are the master playlist's EXT-X-MEDIA renditions of
	// TYPE=AUDIO, in playlist order.
	Audio []Rendition
	// Segments are the media playlist's segments, in playlist order.
	Segments []Segment
	// MediaSequence is the sequence number of the first segment
	// (EXT-X-MEDIA-SEQUENCE, 0 when absent).
	MediaSequence int64
	// EndList: the playlist is complete (EXT-X-ENDLIST); without it the
	// stream is live and the playlist grows.
	EndList bool
}

// Variant is one rendition a master playlist offers.
type Variant struct {
	URI           string // absolute
	Bandwidth     int64  // BANDWIDTH, bits per second
	Width, Height int    // RESOLUTION, 0 when not given
	Codecs        string // CODECS, "" when not given
	// AudioGroup is AUDIO: the GROUP-ID of the audio renditions that go
	// with it, "" when its audio (if any) is in its own segments.
	AudioGroup string
}

// Rendition is an alternative rendition of a master playlist
// (EXT-X-MEDIA), such as a separate audio track.
type Rendition struct {
	Group   string // GROUP-ID
	Name    string // NAME
	URI     string // absolute; "" when the rendition is in the variant's own segments
	Default bool   // DEFAULT=YES
}

// AudioOf returns the audio rendition that goes with v when it is a
// playlist of its own: of v's audio group, the DEFAULT=YES one, else the
// first. ok is false when v has no audio group, or the rendition chosen
// is in v's own segments (no URI).
func (p *Playlist) AudioOf(v Variant) (r Rendition, ok bool) {
	found := false
	for _, a := range p.Audio {
		if a.Group != v.AudioGroup || v.AudioGroup == "" {
			continue
		}
		if !found || a.Default && !r.Default {
			r, found = a, true
		}
	}
	return r, found && r.URI != ""
}

// ByteRange is a sub-range of a resource: Length bytes from Offset.
// Length < 0 means the whole resource.
type ByteRange struct {
	Offset, Length int64
}

// Whole reports whether the range is the whole resource.
func (r ByteRange) Whole() bool { return r.Length < 0 }

// Map is a media initialization section (EXT-X-MAP), which the segments
// after it need before their own bytes (fMP4).
type Map struct {
	URI   string // absolute
	Range ByteRange
	Key   *Key // the key in force where the map appeared, nil when none
}

// Key is the encryption of segments (EXT-X-KEY).
type Key struct {
	// Method is METHOD: "AES-128", "SAMPLE-AES", "SAMPLE-AES-CTR"...
	// (METHOD=NONE is no Key at all).
	Method string
	// URI is where the key is: absolute, or a data: URI as written.
	URI string
	// IV is the 16-byte initialization vector, or nil when the playlist
	// gives none (the segment's sequence number is then the IV).
	IV []byte
	// Format is KEYFORMAT, "" when absent ("identity" is the same).
	Format string
}

// Identity reports whether the key is given as itself (KEYFORMAT absent or
// "identity"), not through a DRM system.
func (k *Key) Identity() bool { return k.Format == "" || k.Format == "identity" }

// Segment is one media segment of a media playlist.
type Segment struct {
	URI      string // absolute
	Range    ByteRange
	Duration float64 // EXTINF, seconds
	Sequence int64   // its media sequence number
	// Discontinuity: an EXT-X-DISCONTINUITY comes before it.
	Discontinuity bool
	Map           *Map // the initialization section in force, nil when none
	Key           *Key // the key in force, nil when not encrypted
}

// IsPlaylist reports whether body looks like an HLS playlist: it starts
// with #EXTM3U (after a UTF-8 byte order mark or white space, if any).
func IsPlaylist(body []byte) bool {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	body = bytes.TrimLeft(body, " \t\r\n")
	return bytes.HasPrefix(body, []byte("#EXTM3U"))
}

// maxPlaylistEntries is the most variants or segments a playlist may have.
const maxPlaylistEntries = 1 << 20

// ParsePlaylist reads an HLS playlist whose URL is base: URIs in it come
// out absolute. A playlist that does not start with #EXTM3U, or whose
// segments' byte ranges cannot be resolved, is an error.
func ParsePlaylist(body []byte, base string) (*Playlist, error) {
	if !IsPlaylist(body) {
		return nil, errors.New("not an HLS playlist: no #EXTM3U")
	}
	bu, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("playlist url %q: %w", base, err)
	}
	r := &playlistReader{base: bu, p: &Playlist{}, prevEnd: -1}
	lines := strings.Split(strings.TrimPrefix(string(body), "\xEF\xBB\xBF"), "\n")
	for n, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := r.line(line); err != nil {
			return nil, fmt.Errorf("playlist line %d: %w", n+1, err)
		}
	}
	if r.p.Master {
		r.p.Segments = nil
	}
	return r.p, nil
}

// playlistReader is ParsePlaylist's state between lines: the playlist so
// far, and what the tags read since the last URI line say about the next
// one.
type playlistReader struct {
	base *url.URL
	p    *Playlist

	keys     []*Key // in force; several only with distinct KEYFORMATs
	keysOpen bool   // the last tag was an EXT-X-KEY: another one adds to them
	init     *Map   // the EXT-X-MAP in force
	disc     bool   // an EXT-X-DISCONTINUITY comes before the next segment
	dur      float64
	rng      *ByteRange // EXT-X-BYTERANGE for the next segment
	variant  *Variant   // EXT-X-STREAM-INF waiting for its URI
	// the end of the previous segment's sub-range, and its resource,
	// for a byte range without an offset (prevEnd < 0: none)
	prevURI string
	prevEnd int64
}

// line reads one trimmed, non-empty line: a URI or a tag (comments and
// unknown tags are passed over).
func (r *playlistReader) line(line string) error {
	if !strings.HasPrefix(line, "#") {
		return r.uri(line)
	}
	tag, value, _ := strings.Cut(line, ":")
	if tag != "#EXT-X-KEY" {
		r.keysOpen = false
	}
	return r.tag(tag, value)
}

// uri reads a URI line: the URI of the variant an EXT-X-STREAM-INF
// announced, else a segment. Either way the playlist stays within
// maxPlaylistEntries.
func (r *playlistReader) uri(line string) error {
	uri, err := resolveURI(r.base, line)
	if err != nil {
		return err
	}
	if len(r.p.Segments)+len(r.p.Variants) >= maxPlaylistEntries {
		return errors.New("too many entries")
	}
	if r.variant != nil {
		r.variant.URI = uri
		r.p.Variants = append(r.p.Variants, *r.variant)
		r.variant = nil
		return nil
	}
	return r.segment(uri)
}

// segment adds the segment at uri, with the duration, discontinuity,
// byte range, map and key the tags before it gave, and clears what
// applies to one segment only. A byte range without an offset continues
// the previous segment's range of the same resource, or is an error.
func (r *playlistReader) segment(uri string) error {
	s := Segment{URI: uri, Range: ByteRange{Length: -1}, Duration: r.dur, Discontinuity: r.disc, Map: r.init,
		Sequence: r.p.MediaSequence + int64(len(r.p.Segments))}
	s.Key = pickKey(r.keys)
	if r.rng != nil {
		s.Range = *r.rng
		if s.Range.Offset < 0 {
			if r.prevURI != uri || r.prevEnd < 0 {
				return errors.New("EXT-X-BYTERANGE without an offset does not follow a range of the same resource")
			}
			s.Range.Offset = r.prevEnd
		}
		r.prevURI, r.prevEnd = uri, s.Range.Offset+s.Range.Length
	} else {
		r.prevURI, r.prevEnd = "", -1
	}
	r.p.Segments = append(r.p.Segments, s)
	r.disc, r.dur, r.rng, r.keysOpen = false, 0, nil, false
	return nil
}

// tag reads one tag line, split at its first ':' into tag and value.
func (r *playlistReader) tag(tag, value string) error {
	switch tag {
	case "#EXT-X-STREAM-INF":
		r.p.Master = true
		r.variant = parseVariant(value)
	case "#EXT-X-MEDIA":
		return r.media(value)
	case "#EXT-X-I-FRAME-STREAM-INF":
		r.p.Master = true // a playlist of I-frames only: never a variant to save
	case "#EXT-X-MEDIA-SEQUENCE":
		return r.mediaSequence(value)
	case "#EXT-X-ENDLIST":
		r.p.EndList = true
	case "#EXTINF":
		d, _, _ := strings.Cut(value, ",")
		r.dur, _ = strconv.ParseFloat(strings.TrimSpace(d), 64)
	case "#EXT-X-DISCONTINUITY":
		r.disc = true
	case "#EXT-X-BYTERANGE":
		br, err := parseByteRange(value)
		if err != nil {
			return err
		}
		r.rng = &br
	case "#EXT-X-MAP":
		return r.mapTag(value)
	case "#EXT-X-KEY":
		return r.key(value)
	}
	return nil
}

// parseVariant reads the attributes of an EXT-X-STREAM-INF; the URI
// comes on the next URI line. Unreadable numbers are left 0.
func parseVariant(value string) *Variant {
	a := parseAttributes(value)
	v := &Variant{Codecs: a["CODECS"], AudioGroup: a["AUDIO"]}
	v.Bandwidth, _ = strconv.ParseInt(a["BANDWIDTH"], 10, 64)
	if w, h, ok := strings.Cut(a["RESOLUTION"], "x"); ok {
		v.Width, _ = strconv.Atoi(w)
		v.Height, _ = strconv.Atoi(h)
	}
	return v
}

// media reads an EXT-X-MEDIA: an audio rendition is added to the
// playlist, with its URI made absolute; other types are passed over.
func (r *playlistReader) media(value string) error {
	a := parseAttributes(value)
	if a["TYPE"] != "AUDIO" {
		return nil
	}
	rend := Rendition{Group: a["GROUP-ID"], Name: a["NAME"], Default: a["DEFAULT"] == "YES"}
	if a["URI"] != "" {
		var err error
		if rend.URI, err = resolveURI(r.base, a["URI"]); err != nil {
			return err
		}
	}
	r.p.Audio = append(r.p.Audio, rend)
	return nil
}

// mediaSequence reads EXT-X-MEDIA-SEQUENCE: a number from 0 that must come
// before the first segment, which it numbers.
func (r *playlistReader) mediaSequence(value string) error {
	seq, err := strconv.ParseInt(value, 10, 64)
	if err != nil || seq < 0 {
		return fmt.Errorf("bad media sequence %q", value)
	}
	if len(r.p.Segments) > 0 {
		return errors.New("media sequence after the first segment")
	}
	r.p.MediaSequence = seq
	return nil
}

// mapTag reads an EXT-X-MAP: it is the initialization section of the
// segments after it, encrypted with the key in force here. A byte range
// without an offset starts at 0.
func (r *playlistReader) mapTag(value string) error {
	a := parseAttributes(value)
	uri, err := resolveURI(r.base, a["URI"])
	if err != nil || a["URI"] == "" {
		return fmt.Errorf("EXT-X-MAP without a usable URI: %q", a["URI"])
	}
	m := &Map{URI: uri, Range: ByteRange{Length: -1}, Key: pickKey(r.keys)}
	if br, ok := a["BYTERANGE"]; ok {
		rng, err := parseByteRange(br)
		if err != nil {
			return err
		}
		m.Range = rng
		if m.Range.Offset < 0 {
			m.Range.Offset = 0 // no earlier range to follow: from the start
		}
	}
	r.init = m
	return nil
}

// key reads an EXT-X-KEY. Keys given one right after another are in force
// together (one for each KEYFORMAT); a key after any other line replaces
// them all. METHOD=NONE adds no key.
func (r *playlistReader) key(value string) error {
	k, err := parseKey(r.base, value)
	if err != nil {
		return err
	}
	if !r.keysOpen {
		r.keys = r.keys[:0:0]
	}
	r.keysOpen = true
	if k != nil {
		r.keys = append(r.keys, k)
	}
	return nil
}

// pickKey is the key in force among keys given together: the one given as
// itself when there is one, else the first (a DRM system's), nil when none.
func pickKey(keys []*Key) *Key {
	for _, k := range keys {
		if k.Identity() {
			return k
		}
	}
	if len(keys) > 0 {
		return keys[0]
	}
	return nil
}

// parseKey reads the attributes of an EXT-X-KEY tag; METHOD=NONE is nil.
func parseKey(base *url.URL, value string) (*Key, error) {
	a := parseAttributes(value)
	method := a["METHOD"]
	switch method {
	case "":
		return nil, errors.New("EXT-X-KEY without METHOD")
	case "NONE":
		return nil, nil
	}
	k := &Key{Method: method, Format: a["KEYFORMAT"]}
	if raw := a["URI"]; raw != "" {
		uri, err := resolveURI(base, raw)
		if err != nil {
			return nil, fmt.Errorf("EXT-X-KEY URI: %w", err)
		}
		k.URI = uri
	}
	if iv, ok := a["IV"]; ok {
		b, err := parseIV(iv)
		if err != nil {
			return nil, err
		}
		k.IV = b
	}
	return k, nil
}

// parseIV reads a hexadecimal IV (0x...) into 16 bytes, right-aligned.
func parseIV(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok {
		h, ok = strings.CutPrefix(s, "0X")
	}
	if !ok || len(h) == 0 || len(h) > 32 {
		return nil, fmt.Errorf("bad IV %q", s)
	}
	if len(h)%2 == 1 {
		h = "0" + h
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("bad IV %q: %w", s, err)
	}
	iv := make([]byte, 16)
	copy(iv[16-len(b):], b)
	return iv, nil
}

// parseByteRange reads "n[@o]"; a missing offset is -1.
func parseByteRange(s string) (ByteRange, error) {
	l, o, hasOffset := strings.Cut(strings.TrimSpace(s), "@")
	r := ByteRange{Offset: -1}
	var err error
	if r.Length, err = strconv.ParseInt(l, 10, 64); err != nil || r.Length < 0 {
		return r, fmt.Errorf("bad byte range %q", s)
	}
	if hasOffset {
		if r.Offset, err = strconv.ParseInt(o, 10, 64); err != nil || r.Offset < 0 || r.Offset > 1<<62-r.Length {
			return r, fmt.Errorf("bad byte range %q", s)
		}
	}
	return r, nil
}

// resolveURI makes a playlist's URI absolute against its URL; a data: URI
// is kept as written.
func resolveURI(base *url.URL, raw string) (string, error) {
	if len(raw) >= 5 && strings.EqualFold(raw[:5], "data:") {
		return raw, nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("uri %q: %w", raw, err)
	}
	return base.ResolveReference(ref).String(), nil
}

// parseAttributes reads an attribute list (NAME=value,NAME="quoted, value").
// Quoted values come without their quotes.
func parseAttributes(s string) map[string]string {
	a := make(map[string]string)
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.TrimSpace(name)
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				value, rest = rest[1:], ""
			} else {
				value, rest = rest[1:1+end], rest[2+end:]
			}
			_, rest, _ = strings.Cut(rest, ",")
		} else {
			value, rest, _ = strings.Cut(rest, ",")
			value = strings.TrimSpace(value)
		}
		a[name] = value
		s = rest
	}
	return a
}

// DataURI decodes a data: URI (RFC 2397), as a key may be given inline.
// ok is false when uri is not a data: URI.
func DataURI(uri string) (data []byte, ok bool, err error) {
	if len(uri) < 5 || !strings.EqualFold(uri[:5], "data:") {
		return nil, false, nil
	}
	meta, payload, found := strings.Cut(uri[5:], ",")
	if !found {
		return nil, true, errors.New("data uri without a comma")
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		payload = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, payload)
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "="))
		}
		if err != nil {
			return nil, true, fmt.Errorf("data uri: %w", err)
		}
		return b, true, nil
	}
	s, err := url.PathUnescape(payload)
	if err != nil {
		return nil, true, fmt.Errorf("data uri: %w", err)
	}
	return []byte(s), true, nil
}

// ChooseVariant picks the variant of a master playlist that want asks for:
// "best" (or "") the highest resolution, then the highest bandwidth;
// "worst" the lowest of both; a height such as "720" the variant of that
// height with the highest bandwidth, or if none has it, the tallest below
// it, or if none is below, the shortest above.
func ChooseVariant(vs []Variant, want string) (Variant, error) {
	if len(vs) == 0 {
		return Variant{}, errors.New("master playlist lists no variant")
	}
	better := func(a, b Variant) bool { // a ranks above b
		pa, pb := int64(a.Width)*int64(a.Height), int64(b.Width)*int64(b.Height)
		if pa != pb {
			return pa > pb
		}
		return a.Bandwidth > b.Bandwidth
	}
	pick := func(ok func(Variant) bool, above func(a, b Variant) bool) (Variant, bool) {
		var best Variant
		found := false
		for _, v := range vs {
			if ok(v) && (!found || above(v, best)) {
				best, found = v, true
			}
		}
		return best, found
	}
	all := func(Variant) bool { return true }
	switch want {
	case "", "best":
		v, _ := pick(all, better)
		return v, nil
	case "worst":
		v, _ := pick(all, func(a, b Variant) bool { return better(b, a) })
		return v, nil
	}
	h, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(want), "p"))
	if err != nil || h <= 0 {
		return Variant{}, fmt.Errorf("variant %q: want best, worst or a height", want)
	}
	if v, ok := pick(func(v Variant) bool { return v.Height == h }, better); ok {
		return v, nil
	}
	if v, ok := pick(func(v Variant) bool { return v.Height < h }, better); ok {
		return v, nil
	}
	v, _ := pick(all, func(a, b Variant) bool { return better(b, a) })
	return v, nil
}

// tsPacket is the size of an MPEG-TS packet, each starting with tsSync.
const (
	tsPacket = 188
	tsSync   = 0x47
)

// imageMagic are the first bytes of the image formats some sites put
// before each segment of a stream to disguise it.
var imageMagic = [][]byte{
	[]byte("\x89PNG\r\n\x1a\n"),
	{0xFF, 0xD8, 0xFF},
	[]byte("GIF87a"),
	[]byte("GIF89a"),
	[]byte("BM"),
}

// TSStart returns where the MPEG-TS data of a segment starts: 0 for a
// segment that does not start with an image header; for one that does
// (PNG, JPEG, GIF, BMP), the first offset from which the sync byte 0x47
// repeats every 188 bytes (over three packets, or as many as the segment
// holds), or -1 when there is none.
func TSStart(seg []byte) int {
	disguised := false
	for _, m := range imageMagic {
		if bytes.HasPrefix(seg, m) {
			disguised = true
			break
		}
	}
	if !disguised {
		return 0
	}
	for i := 1; i < len(seg); i++ {
		if seg[i] != tsSync {
			continue
		}
		// Three packets in a row, or as many as are left when those are
		// whole packets up to the end.
		left := (len(seg) - i + tsPacket - 1) / tsPacket
		if left < 3 && (len(seg)-i)%tsPacket != 0 {
			continue
		}
		ok := true
		for k := 1; k < min(left, 3); k++ {
			if seg[i+k*tsPacket] != tsSync {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}
