package parser

import (
	"bytes"
	"math/rand"
	"testing"
)

// slowDecode is x/text's decoding of body, what the tables must match.
func slowDecode(t testing.TB, name string, body []byte) []byte {
	t.Helper()
	out, err := dbcsTables[name]().enc.NewDecoder().Bytes(body)
	if err != nil {
		t.Fatalf("x/text %s: %v", name, err)
	}
	return out
}

func checkDBCS(t testing.TB, name string, body []byte) {
	t.Helper()
	got, clean := dbcsTables[name]().decode(body)
	want := slowDecode(t, name, body)
	if clean && bytes.Contains(got, []byte("\uFFFD")) {
		t.Fatalf("%s: decoding % X is said to be clean but holds U+FFFD", name, body)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: decoding % X differs from x/text at output byte %d:\ngot  %q\nwant %q", name, body, i, got, want)
	}
}

// TestDBCSMatchesXText: the table decoders give x/text's output on every
// byte pair, on pages, on four-byte GB18030, on random bytes and on
// sequences cut off at the end.
func TestDBCSMatchesXText(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for name := range dbcsTables {
		t.Run(name, func(t *testing.T) {
			// Every pair, alone, between ASCII, and before a cut-off lead.
			var all []byte
			for lead := 0x80; lead <= 0xFF; lead++ {
				for trail := 0x00; trail <= 0xFF; trail++ {
					p := []byte{byte(lead), byte(trail)}
					checkDBCS(t, name, p)
					checkDBCS(t, name, append([]byte("a"), append(p, 'b', byte(lead))...))
					all = append(all, p...)
				}
			}
			checkDBCS(t, name, all)
			for _, p := range goldenPages {
				checkDBCS(t, name, p.bytes(t))
			}
			for _, s := range []string{textGBK, textGB18030, textBig5, textJapanese, textKorean} {
				for _, enc := range []string{"gb18030", "big5", "shift_jis", "euc-kr", "euc-jp"} {
					if b, err := encoders[enc].NewEncoder().Bytes([]byte(s)); err == nil {
						checkDBCS(t, name, b)
						checkDBCS(t, name, b[:len(b)-1])
						checkDBCS(t, name, b[1:])
					}
				}
			}
			// Four-byte GB18030 sequences, valid and not, and their prefixes.
			for i := 0; i < 2000; i++ {
				b := []byte{byte(0x81 + r.Intn(0x7E)), byte(0x30 + r.Intn(10)), byte(0x81 + r.Intn(0x7F)), byte(0x2F + r.Intn(12))}
				for n := 1; n <= 4; n++ {
					checkDBCS(t, name, b[:n])
					checkDBCS(t, name, append(append([]byte("x"), b[:n]...), 0xB5, 0xE7))
				}
			}
			for i := 0; i < 300; i++ {
				b := make([]byte, r.Intn(300))
				for j := range b {
					b[j] = byte(r.Intn(256))
				}
				checkDBCS(t, name, b)
			}
		})
	}
}

// FuzzDBCS: on any bytes, each table decoder gives x/text's output.
func FuzzDBCS(f *testing.F) {
	for _, p := range goldenPages {
		f.Add(p.bytes(f))
	}
	f.Add([]byte("\x81\x30\x81\x30\x84\x31\xA4\x39\xE3\x32\x9A\x35\x81"))
	f.Add([]byte("\x88\x62\x88\x64\xFE\xFE\xA1\x40\x8E\xA1\x8F\xA2\xAF"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for name := range dbcsTables {
			checkDBCS(t, name, body)
		}
	})
}
