package store

import (
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxSegment is the longest file or folder name (bytes) most file
	// systems take.
	maxSegment = 255
	// maxLeaf is the longest file name SafePath gives, so that the file's
	// NAME.part and NAME.part.meta still fit in maxSegment.
	maxLeaf = maxSegment - len(partSuffix+metaSuffix)
	// maxExt is the longest extension (with its dot) kept when a name is cut
	// or numbered; a longer "extension" is just part of the name.
	maxExt = 32
)

// SafePath makes a relative, '/'-separated path safe to create under an
// output folder, whatever the input:
//
//   - it is never absolute and never empty ("file" if nothing is left);
//   - empty, "." and ".." segments are dropped ('\' is not a separator: it is
//     replaced like the characters below);
//   - control characters (NUL included), bidirectional controls (which can
//     disguise "x\u202Egpj.exe" as "xexe.jpg"), line and paragraph
//     separators, invalid UTF-8 and \ : * ? " < > | are replaced by '_';
//   - trailing dots and spaces are removed from every segment;
//   - on Windows, its reserved device names (CON, PRN, AUX, NUL, COM0-9,
//     LPT0-9, also with an extension, as in "con.txt") get a "_" prefix;
//     elsewhere they are names like any other, as wget and gallery-dl keep
//     them;
//   - every segment is at most 255 bytes, the last one at most 245 (so that
//     NAME.part.meta fits too), cut on a UTF-8 boundary, keeping the
//     extension.
//
// SafePath(SafePath(p)) == SafePath(p).
func SafePath(rel string) string {
	parts := strings.Split(rel, "/")
	segs := parts[:0]
	for _, p := range parts {
		if s := cleanSegment(p); s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return "file"
	}
	for i, s := range segs {
		limit := maxSegment
		if i == len(segs)-1 {
			limit = maxLeaf
		}
		segs[i] = fitSegment(s, limit)
	}
	return strings.Join(segs, "/")
}

// cleanSegment replaces unsafe characters of one path segment and trims its
// end; "" means the segment is dropped.
func cleanSegment(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1: // invalid byte
			b.WriteByte('_')
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029',
			strings.ContainsRune(`\:*?"<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return strings.TrimRight(b.String(), ". ")
}

// fitSegment makes a clean, non-empty segment not reserved and at most limit
// bytes long.
func fitSegment(s string, limit int) string {
	for {
		if isDeviceName(s) {
			s = "_" + s
		}
		if len(s) <= limit {
			return s
		}
		stem, ext := splitExt(s)
		stem = cutUTF8(stem, limit-len(ext))
		if ext == "" {
			stem = strings.TrimRight(stem, ". ")
		}
		if stem == "" {
			stem = "_"
		}
		s = stem + ext
	}
}

// splitExt splits a name before its extension: the last '.' and what
// follows, when that is at most maxExt bytes and something comes before it.
func splitExt(s string) (stem, ext string) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || len(s)-i > maxExt {
		return s, ""
	}
	return s[:i], s[i:]
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// windowsDevices are the device names Windows will not use as file names,
// with or without an extension.
var windowsDevices = func() map[string]bool {
	m := map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}
	for _, p := range []string{"COM", "LPT"} {
		for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
			m[p+d] = true
		}
	}
	return m
}()

// deviceNames says whether the system refuses the device names of
// windowsDevices (Windows); a variable, so that tests check both.
var deviceNames = runtime.GOOS == "windows"

// isDeviceName reports whether a segment names a Windows device, on Windows:
// its part before the first '.', trailing spaces ignored, is one of
// windowsDevices.
func isDeviceName(seg string) bool {
	if !deviceNames {
		return false
	}
	base, _, _ := strings.Cut(seg, ".")
	base = strings.TrimRight(base, " ")
	if len(base) > 7 {
		return false
	}
	return windowsDevices[strings.ToUpper(base)]
}

// numbered returns segment seg with "-n" added: before the extension for a
// file name, at the end for a folder name; cut so as to stay within limit.
func numbered(seg string, n int, leaf bool, limit int) string {
	stem, ext := seg, ""
	if leaf {
		stem, ext = splitExt(seg)
	}
	suffix := "-" + strconv.Itoa(n)
	stem = cutUTF8(stem, limit-len(suffix)-len(ext))
	return stem + suffix + ext
}
