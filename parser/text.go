package parser

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// TextEncoding is the encoding of a plain-text file, such as a CSV file or a
// list of URLs, as DetectTextEncoding finds it.
type TextEncoding struct {
	// Encoding decodes the text that follows the byte order mark.
	Encoding encoding.Encoding
	// Name is the encoding's canonical name, as LookupEncoding gives it.
	Name string
	// BOM is the length of the byte order mark the sample starts with, 0
	// when it has none.
	BOM int
	// Sure is false when the sample is all ASCII: the text is then read as
	// UTF-8 so far, and a later sample that is not ASCII may still show it
	// to be in another encoding.
	Sure bool
}

// DetectTextEncoding picks the encoding of plain text from a sample of it,
// its first bytes or the text from the start of a line on. The sample may
// end inside a character. The order is:
//
//  1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) at the start of the
//     sample;
//  2. valid UTF-8 is UTF-8 (all ASCII is too, but not Sure);
//  3. otherwise GB18030 when it decodes the sample: plain text declares
//     nothing, and the legacy text crawl reads (a CSV file saved by a
//     Chinese Excel) is most often GBK, which must always read right;
//  4. otherwise the guess an undeclared page gets: the candidate (Big5,
//     Shift_JIS, EUC-JP, EUC-KR, windows-1252, ...) whose decoding scores
//     best.
func DetectTextEncoding(sample []byte) TextEncoding {
	if enc, name, n := sniffBOM(sample); enc != nil {
		return TextEncoding{Encoding: enc, Name: name, BOM: n, Sure: true}
	}
	if isASCII(sample) {
		return TextEncoding{Encoding: unicode.UTF8, Name: nameUTF8}
	}
	if validUTF8Start(sample) {
		return TextEncoding{Encoding: unicode.UTF8, Name: nameUTF8, Sure: true}
	}
	enc, name := guessText(sample)
	return TextEncoding{Encoding: enc, Name: name, Sure: true}
}

// validUTF8Start says whether b is UTF-8, allowing b to end inside a
// character (b may be the first bytes of a file).
func validUTF8Start(b []byte) bool {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return utf8.Valid(b)
}
