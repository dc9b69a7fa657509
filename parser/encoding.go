package parser

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// How an encoding was found, as reported by DetectEncoding.
const (
	howForced = "forced"
	howBOM    = "bom"
	howHeader = "header"
	howMeta   = "meta"
	howGuess  = "guess"
)

const nameUTF8 = "utf-8"

// gbkLabels are the labels the Encoding Standard maps to GBK. They are all
// decoded with GB18030: x/text's GBK decoder rejects the four-byte sequences
// that real "gbk" pages contain.
var gbkLabels = map[string]bool{
	"chinese": true, "csgb2312": true, "csiso58gb231280": true, "gb2312": true,
	"gb_2312": true, "gb_2312-80": true, "gbk": true, "iso-ir-58": true,
	"x-gbk": true, "cp936": true, "windows-936": true, "ms936": true,
	"gb18030": true,
}

// LookupEncoding validates a label (for --encoding at start-up) and returns
// the encoding it names and that encoding's canonical name. Labels follow the
// Encoding Standard, so "latin1" is windows-1252 and "sjis" is shift_jis;
// gb2312, gbk, x-gbk, cp936, gb18030 and the other GBK labels all give
// GB18030 with the name "gb18030". An unknown label is an error, and so is a
// label of the Encoding Standard's "replacement" encoding (iso-2022-kr,
// hz-gb-2312, ...), which cannot decode anything.
func LookupEncoding(label string) (enc encoding.Encoding, name string, err error) {
	l := strings.ToLower(strings.Trim(label, asciiSpace))
	if gbkLabels[l] {
		return simplifiedchinese.GB18030, "gb18030", nil
	}
	enc, err = htmlindex.Get(l)
	if err != nil {
		return nil, "", fmt.Errorf("unknown encoding %q", label)
	}
	name, err = htmlindex.Name(enc)
	if err != nil {
		return nil, "", fmt.Errorf("unknown encoding %q", label)
	}
	switch name {
	case "gbk":
		return simplifiedchinese.GB18030, "gb18030", nil
	case "replacement":
		return nil, "", fmt.Errorf("unsupported encoding %q", label)
	}
	return enc, name, nil
}

// DetectEncoding returns the canonical name of the encoding Parse would use
// for body and how it was found: "forced", "bom", "header", "meta" or
// "guess". A header or <meta> label that does not fit the bytes and was
// overruled (see the package documentation) is reported as "guess". The
// only error is an unknown forced label.
func DetectEncoding(body []byte, contentType, forced string) (name string, how string, err error) {
	d, err := detect(body, contentType, forced)
	if err != nil {
		return "", "", err
	}
	return d.name, d.how, nil
}

// detection is the outcome of detect: the encoding, how it was found and
// the body decoded with it.
type detection struct {
	enc   encoding.Encoding
	name  string
	how   string
	text  []byte
	clean bool // text is known to hold no U+FFFD without counting
}

func detect(body []byte, contentType, forced string) (detection, error) {
	if forced != "" {
		enc, name, err := LookupEncoding(forced)
		if err != nil {
			return detection{}, err
		}
		return finish(enc, name, howForced, stripOwnBOM(body, name))
	}
	if enc, name, n := sniffBOM(body); enc != nil {
		return finish(enc, name, howBOM, body[n:])
	}
	if label := headerCharset(contentType); label != "" {
		if enc, name, err := LookupEncoding(label); err == nil && !bogusUTF16(body, name) {
			return declared(enc, name, howHeader, body)
		}
	}
	if name := metaScan(body); name != "" {
		if enc, name, err := LookupEncoding(name); err == nil {
			return declared(enc, name, howMeta, body)
		}
	}
	enc, name, text := guess(body)
	if text != nil {
		return detection{enc: enc, name: name, how: howGuess, text: text}, nil
	}
	return finish(enc, name, howGuess, body)
}

// finish decodes body with enc.
func finish(enc encoding.Encoding, name, how string, body []byte) (detection, error) {
	text, clean, err := decode(enc, name, body)
	if err != nil {
		return detection{}, err
	}
	return detection{enc: enc, name: name, how: how, text: text, clean: clean}, nil
}

// declared decodes body with a label the page declared, unless the label
// does not fit the bytes and another candidate does: a legacy label on a
// body that is valid UTF-8 with some non-ASCII gives UTF-8; a label whose
// decoding yields U+FFFD, or windows-1252, gives way to a candidate that
// decodes without errors and scores better.
func declared(enc encoding.Encoding, name, how string, body []byte) (detection, error) {
	if name != nameUTF8 && utf8.Valid(body) && multiByteRunes(body, minUTF8Evidence) >= minUTF8Evidence {
		// Legacy text is almost never valid UTF-8 by accident; UTF-8 pages
		// that still declare gb2312 or iso-8859-1 are common, and their
		// legacy decoding is clean mojibake ("鍐欑湡").
		return finish(unicode.UTF8, nameUTF8, howGuess, body)
	}
	d, err := finish(enc, name, how, body)
	if err != nil {
		return d, err
	}
	var bad int
	if name == nameUTF8 {
		if utf8.Valid(body) {
			return d, nil
		}
		bad = bytes.Count(d.text, []byte("\uFFFD")) - bytes.Count(body, []byte("\uFFFD"))
	} else if !d.clean {
		bad = bytes.Count(d.text, []byte("\uFFFD"))
	}
	// windows-1252 decodes anything without errors, so a page declaring it
	// (often only through a server's default "charset=iso-8859-1") is
	// checked for plausibility alone.
	if bad <= 0 && name != "windows-1252" {
		return d, nil
	}
	if bad > 0 && utf8.Valid(body) {
		return finish(unicode.UTF8, nameUTF8, howGuess, body)
	}
	if alt, altName, ok := betterThan(body, name); ok {
		return finish(alt, altName, howGuess, body)
	}
	return d, nil
}

// minUTF8Evidence is how many multi-byte UTF-8 characters overrule a
// legacy label on a body that is valid UTF-8.
const minUTF8Evidence = 3

// multiByteRunes counts the multi-byte characters of valid UTF-8 b, up to
// limit.
func multiByteRunes(b []byte, limit int) int {
	n := 0
	for i := 0; i < len(b) && n < limit; i++ {
		if b[i] >= 0xC0 {
			n++
		}
	}
	return n
}

// decode converts body to UTF-8; invalid sequences become U+FFFD. clean
// reports that the text is known to hold no U+FFFD (false: it may).
func decode(enc encoding.Encoding, name string, body []byte) (text []byte, clean bool, err error) {
	if name == nameUTF8 && utf8.Valid(body) {
		return body, false, nil
	}
	if table, ok := dbcsTables[name]; ok {
		text, clean = table().decode(body)
		return text, clean, nil
	}
	text, err = enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", name, err)
	}
	return text, false, nil
}

// sniffBOM recognises the byte order marks of UTF-8, UTF-16BE and UTF-16LE
// and returns the encoding and the length of the mark.
func sniffBOM(body []byte) (encoding.Encoding, string, int) {
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return unicode.UTF8, nameUTF8, 3
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be", 2
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le", 2
	}
	return nil, "", 0
}

// stripOwnBOM drops a byte order mark that belongs to the forced encoding.
func stripOwnBOM(body []byte, name string) []byte {
	if _, bomName, n := sniffBOM(body); n > 0 && bomName == name {
		return body[n:]
	}
	return body
}

// bogusUTF16 reports whether a UTF-16 label is plainly wrong: markup in
// UTF-16 is full of zero bytes, a page without any in its first kilobyte is
// in an ASCII-compatible encoding.
func bogusUTF16(body []byte, name string) bool {
	if !strings.HasPrefix(name, "utf-16") {
		return false
	}
	return bytes.IndexByte(body[:min(len(body), prescanLimit)], 0) < 0
}

// headerCharset returns the charset label of a Content-Type header value,
// "" if it has none.
func headerCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return params["charset"]
	}
	// Malformed header (stray quote, bare parameter): take the token after
	// "charset=".
	i := indexFold(contentType, "charset")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(contentType[i+len("charset"):], asciiSpace)
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, asciiSpace+`"'`)
	end := strings.IndexAny(rest, asciiSpace+`"';,`)
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}
