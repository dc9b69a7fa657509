package parser

import (
	"encoding/binary"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// Decoding the double-byte encodings (GB18030, Big5, Shift_JIS, EUC-KR,
// EUC-JP) through x/text costs a call and a table search per character, as
// much as a tenth of reading a page. A dbcsTable holds, for every byte pair
// that x/text decodes to one character of the Basic Multilingual Plane, that
// character; decoding looks pairs up in it, copies ASCII runs whole, and
// hands anything else (four-byte GB18030, single-byte katakana, three-byte
// EUC-JP, invalid bytes) to x/text one sequence at a time. The tables are
// filled from x/text itself, so the result is x/text's, byte for byte.

const (
	dbcsLeadMin  = 0x80
	dbcsTrailMin = 0x40
	dbcsTrails   = 0x100 - dbcsTrailMin
)

// dbcsTable is the pair table of one encoding. An entry holds the
// character's UTF-8 bytes (at most three), first byte lowest, and their
// number in the top byte; 0 means: ask x/text.
type dbcsTable struct {
	enc  encoding.Encoding
	pair [(0x100 - dbcsLeadMin) * dbcsTrails]uint32
}

// dbcsTables builds each table the first time it is needed.
var dbcsTables = map[string]func() *dbcsTable{
	"gb18030":   sync.OnceValue(func() *dbcsTable { return newDBCSTable(simplifiedchinese.GB18030) }),
	"big5":      sync.OnceValue(func() *dbcsTable { return newDBCSTable(traditionalchinese.Big5) }),
	"shift_jis": sync.OnceValue(func() *dbcsTable { return newDBCSTable(japanese.ShiftJIS) }),
	"euc-kr":    sync.OnceValue(func() *dbcsTable { return newDBCSTable(korean.EUCKR) }),
	"euc-jp":    sync.OnceValue(func() *dbcsTable { return newDBCSTable(japanese.EUCJP) }),
}

func newDBCSTable(enc encoding.Encoding) *dbcsTable {
	t := &dbcsTable{enc: enc}
	dec := enc.NewDecoder()
	var dst [16]byte
	for lead := dbcsLeadMin; lead <= 0xFF; lead++ {
		for trail := dbcsTrailMin; trail <= 0xFF; trail++ {
			dec.Reset()
			n, m, err := dec.Transform(dst[:], []byte{byte(lead), byte(trail)}, true)
			if err != nil || m != 2 {
				continue
			}
			r, size := utf8.DecodeRune(dst[:n])
			if size != n || r == utf8.RuneError || n > 3 {
				continue // two characters, an error, or beyond the BMP
			}
			var e uint32
			for k := n - 1; k >= 0; k-- {
				e = e<<8 | uint32(dst[k])
			}
			t.pair[(lead-dbcsLeadMin)*dbcsTrails+trail-dbcsTrailMin] = e | uint32(n)<<24
		}
	}
	return t
}

// decode converts body to UTF-8 as enc's x/text decoder does; invalid
// sequences become U+FFFD. clean reports that every sequence was a
// table pair or ASCII, so that the text holds no U+FFFD.
func (t *dbcsTable) decode(body []byte) (text []byte, clean bool) {
	// A pair gives at most three bytes (stored as four) and ASCII one: out
	// keeps room for half as much again as the input left plus 16 bytes
	// of slack for the four- and eight-byte stores; only what slow decodes
	// (an invalid byte gives three) may need more, and slow makes room.
	out := make([]byte, len(body)+len(body)/2+16)
	n := 0
	clean = true
	pair := &t.pair
	var sl *slowDecoder // made on the first sequence the table lacks
	for i := 0; i < len(body); {
		c := body[i]
		if c < utf8.RuneSelf {
			// ASCII, eight bytes at a time where it can.
			for i+8 <= len(body) {
				w := binary.LittleEndian.Uint64(body[i:])
				if w&0x8080808080808080 != 0 {
					break
				}
				binary.LittleEndian.PutUint64(out[n:], w)
				i += 8
				n += 8
			}
			for i < len(body) && body[i] < utf8.RuneSelf {
				out[n] = body[i]
				n++
				i++
			}
			continue
		}
		if i+1 < len(body) && body[i+1] >= dbcsTrailMin {
			if e := pair[int(c-dbcsLeadMin)*dbcsTrails+int(body[i+1]-dbcsTrailMin)]; e != 0 {
				binary.LittleEndian.PutUint32(out[n:], e)
				n += int(e >> 24)
				i += 2
				continue
			}
		}
		if sl == nil {
			sl = &slowDecoder{dec: t.enc.NewDecoder()}
		}
		out, n, i = sl.decode(body, i, out, n)
		clean = false
	}
	return out[:n:n], clean
}

// slowDecoder decodes with x/text what the table lacks.
type slowDecoder struct {
	dec *encoding.Decoder
	buf [64]byte
}

// decode decodes the sequence at body[i] (at most four bytes) into
// out[n:], making room in out as dbcsTable.decode needs it, and returns
// where decoding goes on. x/text may go on past the sequence, which is as
// right.
func (s *slowDecoder) decode(body []byte, i int, out []byte, n int) ([]byte, int, int) {
	end := min(i+4, len(body))
	nDst, nSrc, _ := s.dec.Transform(s.buf[:], body[i:end], end == len(body))
	if nSrc == 0 {
		// x/text wants more than four bytes for one sequence, which no
		// encoding here has; never loop on it: decode the rest in one go.
		s.dec.Reset()
		rest, _ := s.dec.Bytes(body[i:])
		return append(out[:n], rest...), n + len(rest), len(body)
	}
	i += nSrc
	if room := (len(body)-i)*3/2 + 16; len(out)-n-nDst < room {
		out = append(out[:n], make([]byte, nDst+room)...)
		out = out[:cap(out)]
	}
	return out, n + copy(out[n:], s.buf[:nDst]), i
}
