package input

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"crawl/parser"
)

// peekSize is the size of a CSV input's read buffer, and so how much of its
// start is looked at to pick its encoding (of a pipe, what is there
// already).
const peekSize = 64 << 10

// csvLine is one line of a CSV input, decoded, without its line break.
type csvLine struct {
	n       int // 1-based line number
	text    string
	tooLong bool // longer than maxCSVRecord; text is empty
}

// csvLines reads a CSV input line by line, decoding each to UTF-8. Lines
// given back are read again first.
type csvLines struct {
	r    *bufio.Reader
	n    int
	back []csvLine // given back, next one last
	buf  []byte

	// When the encoding is detected, lines are UTF-8 until it is decided:
	// from the first bytes, or else from the first line that is not ASCII
	// (parser.DetectTextEncoding). From then on dec, unless the input is
	// UTF-8 (nil), decodes every line.
	decided bool
	dec     *encoding.Decoder
	bom     bool // strip a U+FEFF at the start of the first line
}

// newCSVLines sets up decoding: forced, or detected from the first bytes,
// or else from the first line that is not ASCII.
func newCSVLines(r io.Reader, forced encoding.Encoding, forcedName string) (*csvLines, error) {
	br := bufio.NewReaderSize(r, peekSize)
	l := &csvLines{r: br, bom: true}
	if forced != nil {
		if forcedName != "utf-8" {
			l.r = bufio.NewReaderSize(transform.NewReader(br, unicode.BOMOverride(forced.NewDecoder())), peekSize)
		}
		l.decided = true
		return l, nil
	}
	// Look at what the first read brings (up to peekSize of a file; what is
	// there already of a pipe, which may still be being written).
	if _, err := br.Peek(3); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head, _ := br.Peek(br.Buffered())
	enc := parser.DetectTextEncoding(head)
	switch {
	case !enc.Sure:
		// All ASCII so far: the first line that is not decides.
	case enc.BOM > 0:
		// The whole input is in the encoding of its byte order mark. The
		// lines of UTF-16 show only once it is decoded.
		l.decided = true
		if _, err := br.Discard(enc.BOM); err != nil {
			return nil, err
		}
		if enc.Name != "utf-8" {
			l.r = bufio.NewReaderSize(transform.NewReader(br, enc.Encoding.NewDecoder()), peekSize)
		}
	default:
		l.use(enc)
	}
	return l, nil
}

// decideAt settles the encoding at the first line that is not ASCII, from
// that line and what is read already after it.
func (l *csvLines) decideAt(line []byte) {
	if !parser.DetectTextEncoding(line).Sure {
		return // ASCII: UTF-8 so far
	}
	rest, _ := l.r.Peek(l.r.Buffered())
	sample := make([]byte, 0, len(line)+1+len(rest))
	sample = append(append(append(sample, line...), '\n'), rest...)
	l.use(parser.DetectTextEncoding(sample))
}

// use decodes the lines from now on with enc, found from bytes that are
// not all ASCII.
func (l *csvLines) use(enc parser.TextEncoding) {
	l.decided = true
	if enc.Name != "utf-8" {
		l.dec = enc.Encoding.NewDecoder()
	}
}

// next returns the next line, or io.EOF.
func (l *csvLines) next() (csvLine, error) {
	if n := len(l.back); n > 0 {
		line := l.back[n-1]
		l.back = l.back[:n-1]
		return line, nil
	}
	raw, tooLong, err := l.readRaw()
	if err != nil {
		return csvLine{}, err
	}
	l.n++
	if tooLong {
		return csvLine{n: l.n, tooLong: true}, nil
	}
	if !l.decided {
		l.decideAt(raw)
	}
	var text string
	if l.dec != nil {
		b, err := l.dec.Bytes(raw)
		if err != nil {
			b = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		}
		text = string(b)
	} else {
		text = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	if l.bom {
		l.bom = false
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	return csvLine{n: l.n, text: text}, nil
}

// readRaw reads one line without its '\n'. A line longer than
// maxCSVRecord is skipped through to its end and reported as tooLong.
func (l *csvLines) readRaw() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > maxCSVRecord+1 {
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(l.buf, []byte("\n")), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(l.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return l.buf, tooLong, nil
		default:
			return nil, false, err
		}
	}
}

// giveBack returns lines (in file order) to be read again first.
func (l *csvLines) giveBack(lines ...csvLine) {
	for i := len(lines) - 1; i >= 0; i-- {
		l.back = append(l.back, lines[i])
	}
}
