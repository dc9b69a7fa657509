package fetcher

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/andybalholm/brotli"
)

// Content codings. A file comes as the server stores it, with
// "Accept-Encoding: identity", so that Content-Length and byte ranges are
// the file's. A server may still send it gzip-, deflate- or br-encoded
// (a misconfigured one does so without being asked): the body is then
// decoded, as browsers do, unless the file itself is a compressed archive
// (see isArchive), whose encoded bytes are the file. A decoded answer's
// length is known only once it is read, and a range of it cannot be
// decoded, so it is fetched whole: no resume, no pieces.

// fileEncodings is the Accept-Encoding of a file request; pageEncodings
// that of a page, whose body is always decoded (and capped decoded).
const (
	fileEncodings = "identity"
	pageEncodings = "gzip, deflate, br"
)

// archiveTypes are the Content-Types of files that are compressed
// streams themselves: a Content-Encoding of such an answer is taken as
// the server's description of the file, not a coding to undo.
var archiveTypes = map[string]bool{
	"application/gzip":            true,
	"application/x-gzip":          true,
	"application/x-gunzip":        true,
	"application/gzipped":         true,
	"application/gzip-compressed": true,
	"application/x-compressed":    true,
	"application/x-compress":      true,
	"application/x-tgz":           true,
	"application/x-brotli":        true,
	"application/brotli":          true,
	"application/zlib":            true,
	"application/x-zlib":          true,
}

// archiveExts are the URL-path extensions of such files.
var archiveExts = map[string]bool{".gz": true, ".tgz": true, ".svgz": true, ".br": true}

// isArchive reports whether the file at u, answered with Content-Type
// ctype, is a compressed archive whose bytes are kept encoded.
func isArchive(u *url.URL, ctype string) bool {
	if mt, _, err := mime.ParseMediaType(ctype); err == nil && archiveTypes[mt] {
		return true
	}
	return archiveExts[strings.ToLower(path.Ext(u.Path))]
}

// contentCodings returns the content codings of header in the order they
// were applied, without "identity"; ok is false when one of them is not
// gzip, deflate or br (the body is then left as it came).
func contentCodings(header http.Header) (codings []string, ok bool) {
	for _, v := range header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			switch c = strings.ToLower(strings.TrimSpace(c)); c {
			case "", "identity":
			case "gzip", "x-gzip", "deflate", "br":
				codings = append(codings, c)
			default:
				return nil, false
			}
		}
	}
	return codings, true
}

// decodeAnswer makes r, the answer to a request for u, one of its
// decoded body when it came gzip-, deflate- or br-encoded and is to be
// decoded (always for a page, else unless it is an archive). A decoded
// answer has Encoding set, a body length and total unknown (-1), and no
// Content-Encoding, Content-Length nor Content-Range in its header. A
// range of an encoded body is no range of the file: unless it is the
// whole body (from byte 0 to its end), the error wraps ErrBadRange.
func decodeAnswer(r *Response, u *url.URL, page bool) error {
	codings, ok := contentCodings(r.Header)
	if !ok || len(codings) == 0 || (!page && isArchive(u, r.Header.Get("Content-Type"))) {
		return nil
	}
	enc := strings.Join(codings, ", ")
	if r.StatusCode == http.StatusPartialContent && (r.Offset != 0 || r.Total < 0 || r.ContentLength != r.Total) {
		return fmt.Errorf("%w: a range of a %s-encoded body cannot be decoded", ErrBadRange, enc)
	}
	r.Header = r.Header.Clone()
	for _, h := range []string{"Content-Encoding", "Content-Length", "Content-Range"} {
		r.Header.Del(h)
	}
	r.Encoding = enc
	r.ContentLength, r.Offset, r.Total = -1, 0, -1
	r.Body = &decodedBody{raw: r.Body, codings: codings, url: u.String()}
	return nil
}

// decodedBody is the decoded stream of a body encoded with codings (in
// the order they were applied). The decoders are made at the first Read,
// so that waiting for the first bytes is the reader's, under the stall
// timeout. Close closes the raw body.
type decodedBody struct {
	raw     io.ReadCloser
	codings []string
	url     string
	r       io.Reader // nil until the first Read
}

func (b *decodedBody) Read(p []byte) (int, error) {
	if b.r == nil {
		r := io.Reader(b.raw)
		for i := len(b.codings) - 1; i >= 0; i-- {
			var err error
			if r, err = decoder(b.codings[i], r); err == io.EOF {
				return 0, io.EOF // no body at all
			} else if err != nil {
				return 0, b.wrap(err)
			}
		}
		b.r = r
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.wrap(err)
	}
	return n, err
}

// wrap says that decoding the body failed (a stall or a cut under it
// stays visible to errors.Is).
func (b *decodedBody) wrap(err error) error {
	return fmt.Errorf("decode %s body of %s: %w", strings.Join(b.codings, ", "), b.url, err)
}

func (b *decodedBody) Close() error { return b.raw.Close() }

// decoder returns the reader of what r holds encoded with coding. A
// deflate body may be zlib-wrapped (as the RFC says) or raw deflate (as
// some servers send it, and browsers accept): its first two bytes tell.
func decoder(coding string, r io.Reader) (io.Reader, error) {
	switch coding {
	case "gzip", "x-gzip":
		return gzip.NewReader(r)
	case "br":
		return brotli.NewReader(r), nil
	}
	br := bufio.NewReaderSize(r, 16)
	if head, err := br.Peek(2); err == nil && isZlibHeader(head) {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// isZlibHeader reports whether b starts a zlib stream: deflate method
// (8) with a window of at most 32 KiB, and the header check bits right.
func isZlibHeader(b []byte) bool {
	return b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}
