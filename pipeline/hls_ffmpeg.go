package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"crawl/store"
)

// What ffmpeg does for HLS streams: --remux mp4 turns a stream of MPEG-TS
// segments into an .mp4, and a variant whose audio is a rendition of its
// own is joined to that audio. Either way ffmpeg copies the streams as
// they are (-c copy) from the parts into a file of its own in a fresh
// folder under OUT/.crawl/hls, which commit then renames into place; the parts
// stay until then, so a stop at any point resumes without fetching a
// segment again.

// remuxMP4 is the one value --remux takes.
const remuxMP4 = "mp4"

// checkRemux checks --remux: "" or mp4, and for mp4 that ffmpeg is there
// to do it.
func checkRemux(v string) error {
	switch v {
	case "":
		return nil
	case remuxMP4:
		if _, err := ffmpegPath(); err != nil {
			return usagef("--remux mp4 needs ffmpeg, which is not on PATH (install it, e.g. apt-get install ffmpeg)")
		}
		return nil
	}
	return usagef("--remux %q: the one format is mp4", v)
}

// ffmpegPath finds ffmpeg on PATH.
func ffmpegPath() (string, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", errors.New("ffmpeg is not on PATH")
	}
	return p, nil
}

// audioPart opens the part a stream's separate audio goes to: under
// OUT/.crawl, named after the stream's URL, so that a rerun finds it.
func (h hls) audioPart(ctx context.Context) (*store.Part, error) {
	p, err := h.d.s.dir.OpenPart(ctx, h.audioRel())
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	h.d.audio = p
	return p, nil
}

// audioRel is where under OUT the part of the stream's audio is.
func (h hls) audioRel() string { return h.scratchRel() + ".audio" }

// scratchRel is the name under OUT, without an extension, of what the
// stream keeps beside its part: OUT/.crawl/hls/ and a hash of its URL, so
// that a rerun finds it (and a run stopped while ffmpeg wrote leaves
// nothing that the next one does not clear).
func (h hls) scratchRel() string {
	sum := sha256.Sum256([]byte(h.d.ft.URL))
	return ".crawl/hls/" + hex.EncodeToString(sum[:12])
}

// join has ffmpeg make the file of type save from the stream's parts (the
// video, and the audio when withAudio), for commit to put in place. When
// a remux alone fails, the stream is kept as it came, as .ts; an audio
// that cannot be joined fails the stream.
func (h hls) join(ctx context.Context, save string, withAudio bool) (string, int64, error) {
	d := h.d
	inputs := []string{d.partPath(d.nm.path)}
	if withAudio {
		inputs = append(inputs, d.partPath(h.audioRel()))
	}
	tmp := filepath.Join(d.s.dir.Root(), filepath.FromSlash(h.scratchRel())+".ffmpeg")
	made, err := ffmpeg(ctx, tmp, inputs, save)
	switch {
	case ctx.Err() != nil:
		return "", 0, ctx.Err()
	case err != nil && withAudio:
		return "", 0, errFinal{fmt.Errorf("join the audio to the video: %w", err)}
	case err != nil:
		fmt.Fprintf(d.s.log, "crawl: %s: remux into .mp4 failed, so the stream is kept as .ts: %v\n", d.ft.URL, err)
		if err := h.keepTS(ctx); err != nil {
			return "", 0, errFinal{err}
		}
		return typeTS, d.part.Size(), nil
	}
	d.made = made
	return save, -1, nil
}

// partPath is the OS path of the part of rel.
func (d *fileDownload) partPath(rel string) string {
	return filepath.Join(d.s.dir.Root(), filepath.FromSlash(rel)) + ".part"
}

// mediaFormats are the formats ffmpeg may read a stream's parts as: the
// containers and raw audio of HLS segments.
const mediaFormats = "mpegts,mov,mp4,m4a,3gp,3g2,mj2,aac,mp3,ac3,eac3"

// ffmpeg copies the streams of inputs (the first one's video and the
// second one's audio, when there are two) into a file of type ctype in
// the folder tmp, made anew (what an earlier run left there goes), and
// returns its path.
func ffmpeg(ctx context.Context, tmp string, inputs []string, ctype string) (string, error) {
	bin, err := ffmpegPath()
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("ffmpeg: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return "", fmt.Errorf("ffmpeg: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return "", fmt.Errorf("ffmpeg: %w", err)
	}
	format, out := "mpegts", filepath.Join(tmp, "out.ts")
	if ctype == typeFMP4 {
		format, out = "mp4", filepath.Join(tmp, "out.mp4")
	}
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}
	for _, in := range inputs {
		// The parts hold what a server sent: read as local media only,
		// never as a playlist or a script that names other files or URLs.
		args = append(args, "-protocol_whitelist", "file", "-format_whitelist", mediaFormats, "-i", "file:"+in)
	}
	if len(inputs) > 1 {
		args = append(args, "-map", "0:v", "-map", "1:a")
	}
	args = append(args, "-c", "copy", "-f", format, "file:"+out)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("ffmpeg: %w: %s", err, lastLine(stderr.Bytes()))
	}
	return out, nil
}

// lastLine is the last line of ffmpeg's messages that says something, cut
// to a reasonable length.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	if l == "" {
		return "no message"
	}
	return l
}

// keepTS gives the stream, whose remux into .mp4 failed, a .ts name in
// place of the .mp4 one it was to get, its part moved there.
func (h hls) keepTS(ctx context.Context) error {
	d := h.d
	old := d.nm.path
	if err := d.s.dir.Unreserve(ctx, d.ft.URL, old); err != nil {
		return err
	}
	now, err := d.s.dir.Reserve(ctx, d.ft.URL, strings.TrimSuffix(old, path.Ext(old))+".ts")
	if err != nil {
		return err
	}
	if err := os.Rename(d.partPath(old), d.partPath(now)); err != nil {
		return fmt.Errorf("keep the stream as .ts: %w", err)
	}
	d.part.Remove() // its sidecar; the part itself has moved
	d.nm = name{path: now}
	p, err := d.s.dir.OpenPart(ctx, now)
	if err != nil {
		return err
	}
	d.part = p
	return nil
}

// commitMade puts the file ffmpeg made in place under the reserved name,
// records it, and removes the parts it was made from.
func (d *fileDownload) commitMade(ctx context.Context, ctype string) {
	s := d.s
	err := s.dir.Place(d.made, d.nm.path, d.nm.fresh)
	var size int64
	var sum string
	if err == nil {
		size, sum, err = s.dir.HashFile(d.nm.path)
	}
	d.remove()
	if err != nil {
		d.giveBackTaken(ctx, err)
		s.fail(ctx, d.t, d.ft.URL, d.ft.Source, fmt.Errorf("put %s in place: %w", d.nm.path, err))
		return
	}
	s.dirty.Store(true)
	s.record(d.t, store.File{URL: d.ft.URL, Path: d.nm.path, Bytes: size, SHA256: sum, ContentType: ctype, Source: d.ft.Source}, EvFile)
}

// closeStream closes (or, with remove, deletes) what an HLS stream keeps
// beside its part: the part of its separate audio, and a file ffmpeg made.
func (d *fileDownload) closeStream(remove bool) {
	if d.audio != nil {
		var err error
		if remove {
			err = d.audio.Remove()
		} else {
			err = d.audio.Close()
		}
		if err != nil {
			fmt.Fprintf(d.s.log, "crawl: %s: %v\n", d.s.owner, err)
		}
	}
	if d.made != "" {
		os.RemoveAll(filepath.Dir(d.made))
		d.made = ""
	}
}
