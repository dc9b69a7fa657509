package parser

import (
	"bytes"
	"strings"
)

const (
	// prescanLimit is how far the HTML Standard's prescan looks.
	prescanLimit = 1024
	// headScanLimit bounds the second scan, over the rest of <head>.
	headScanLimit = 1 << 20
	// asciiSpace is the HTML Standard's ASCII whitespace.
	asciiSpace = "\t\n\f\r "
)

// Prescan is the HTML Standard's meta prescan ("prescan a byte stream to
// determine its encoding") over the first 1024 bytes of body. It returns the
// canonical name of the first valid declaration (as LookupEncoding names it,
// so "gb2312" gives "gb18030", with the prescan's own rules: UTF-16 labels
// give "utf-8", x-user-defined gives "windows-1252"), or "" if there is
// none. Declarations inside comments or attribute values, and tags cut off
// by the end of the 1024 bytes, do not count. A label of the
// "replacement" encoding is skipped like an unknown one.
func Prescan(body []byte) string {
	return prescan(body[:min(len(body), prescanLimit)], false)
}

// metaScan is the <meta> step of the detection: the prescan of the first
// 1024 bytes, then, when that finds nothing, the same prescan continued
// through the rest of <head> (up to </head> or <body>, at most
// headScanLimit bytes), for legacy pages whose <meta> comes after long
// scripts or comments.
func metaScan(body []byte) string {
	if name := Prescan(body); name != "" || len(body) <= prescanLimit {
		return name
	}
	return prescan(body[:min(len(body), headScanLimit)], true)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isLetter(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z'
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// prescan runs the algorithm over b; running out of bytes in the middle of a
// construct ends it without a result. With inHead, the scan also stops at
// the first byte past prescanLimit once </head> or <body> has been seen.
func prescan(b []byte, inHead bool) string {
	headEnded := false
	for i := 0; i < len(b); i++ {
		if inHead && headEnded && i >= prescanLimit {
			return ""
		}
		if b[i] != '<' {
			continue
		}
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			// The '>' of the first "-->" after the '<'; the dashes may be
			// those of "<!--" itself.
			j := bytes.Index(b[i+2:], []byte("-->"))
			if j < 0 {
				return ""
			}
			i += 2 + j + 2
		case len(rest) > 5 && hasPrefixFold(rest, "<meta") && (isSpace(rest[5]) || rest[5] == '/'):
			s := attrScanner{b: b, pos: i + 5}
			name, ok := s.meta()
			if !ok {
				return ""
			}
			if name != "" {
				return name
			}
			i = s.pos
		case len(rest) > 1 && isLetter(rest[1]), len(rest) > 2 && rest[1] == '/' && isLetter(rest[2]):
			start := i + 1
			end := rest[1] == '/'
			if end {
				start++
			}
			k := start
			for k < len(b) && !isSpace(b[k]) && b[k] != '>' {
				k++
			}
			if k >= len(b) {
				return ""
			}
			if inHead {
				tag := strings.ToLower(string(b[start:k]))
				if (end && tag == "head") || (!end && tag == "body") {
					headEnded = true
				}
			}
			s := attrScanner{b: b, pos: k}
			for {
				_, _, got, ok := s.next()
				if !ok {
					return ""
				}
				if !got {
					break
				}
			}
			i = s.pos
		case bytes.HasPrefix(rest, []byte("<!")), bytes.HasPrefix(rest, []byte("</")), bytes.HasPrefix(rest, []byte("<?")):
			j := bytes.IndexByte(b[i+1:], '>')
			if j < 0 {
				return ""
			}
			i += 1 + j
		}
	}
	return ""
}

func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(b[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// attrScanner reads attributes the way the prescan does ("get an
// attribute"), from pos on.
type attrScanner struct {
	b   []byte
	pos int
}

// meta processes the attributes of a <meta> tag. It returns the declared
// encoding ("" if the tag declares none) and false if the bytes ran out.
// On return pos is where the attributes ended.
func (s *attrScanner) meta() (string, bool) {
	var (
		seen       [3]bool // http-equiv, content, charset: only these matter
		gotPragma  bool
		needPragma = 0  // 0 null, 1 true, 2 false
		charsetSet bool // charset is no longer null (it may be a failure)
		charset    string
	)
	for {
		name, value, got, ok := s.next()
		if !ok {
			return "", false
		}
		if !got {
			break
		}
		switch name {
		case "http-equiv":
			if seen[0] {
				continue
			}
			seen[0] = true
			if value == "content-type" {
				gotPragma = true
			}
		case "content":
			if seen[1] {
				continue
			}
			seen[1] = true
			if !charsetSet {
				if label, ok := extractCharset(value); ok {
					if c := metaEncoding(label); c != "" {
						charset, charsetSet, needPragma = c, true, 1
					}
				}
			}
		case "charset":
			if seen[2] {
				continue
			}
			seen[2] = true
			charset, charsetSet, needPragma = metaEncoding(value), true, 2
		}
	}
	switch {
	case needPragma == 0, needPragma == 1 && !gotPragma, charset == "":
		return "", true
	}
	return charset, true
}

// next is "get an attribute": it returns the next attribute's name and
// value (ASCII lower-cased), got=false at the end of the tag, ok=false if
// the bytes ran out.
func (s *attrScanner) next() (name, value string, got, ok bool) {
	b := s.b
	for s.pos < len(b) && (isSpace(b[s.pos]) || b[s.pos] == '/') {
		s.pos++
	}
	if s.pos >= len(b) {
		return "", "", false, false
	}
	if b[s.pos] == '>' {
		return "", "", false, true
	}
	var nb, vb []byte
	for {
		if s.pos >= len(b) {
			return "", "", false, false
		}
		c := b[s.pos]
		if c == '=' && len(nb) > 0 {
			s.pos++
			break
		}
		if isSpace(c) {
			for s.pos < len(b) && isSpace(b[s.pos]) {
				s.pos++
			}
			if s.pos >= len(b) {
				return "", "", false, false
			}
			if b[s.pos] != '=' {
				return string(nb), "", true, true
			}
			s.pos++
			break
		}
		if c == '/' || c == '>' {
			return string(nb), "", true, true
		}
		nb = append(nb, lower(c))
		s.pos++
	}
	for s.pos < len(b) && isSpace(b[s.pos]) {
		s.pos++
	}
	if s.pos >= len(b) {
		return "", "", false, false
	}
	switch c := b[s.pos]; c {
	case '"', '\'':
		for {
			s.pos++
			if s.pos >= len(b) {
				return "", "", false, false
			}
			if b[s.pos] == c {
				s.pos++
				return string(nb), string(vb), true, true
			}
			vb = append(vb, lower(b[s.pos]))
		}
	case '>':
		return string(nb), "", true, true
	}
	for {
		vb = append(vb, lower(b[s.pos]))
		s.pos++
		if s.pos >= len(b) {
			return "", "", false, false
		}
		if c := b[s.pos]; isSpace(c) || c == '>' {
			return string(nb), string(vb), true, true
		}
	}
}

// extractCharset is the HTML Standard's "extract a character encoding from a
// meta element" on s; it returns the label (not yet looked up), ok=false if
// there is none.
func extractCharset(s string) (string, bool) {
	i := 0
	for {
		j := indexFold(s[i:], "charset")
		if j < 0 {
			return "", false
		}
		i += j + len("charset")
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			continue
		}
		i++
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return "", false
		}
		if q := s[i]; q == '"' || q == '\'' {
			k := strings.IndexByte(s[i+1:], q)
			if k < 0 {
				return "", false
			}
			return s[i+1 : i+1+k], true
		}
		k := i
		for k < len(s) && !isSpace(s[k]) && s[k] != ';' {
			k++
		}
		return s[i:k], true
	}
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring the
// case of s.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		match := true
		for j := 0; j < len(needle); j++ {
			if lower(s[i+j]) != needle[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// metaEncoding is "get an encoding" for a label found by the prescan, with
// the prescan's substitutions; "" stands for failure.
func metaEncoding(label string) string {
	_, name, err := LookupEncoding(label)
	if err != nil {
		return ""
	}
	switch name {
	case "utf-16le", "utf-16be":
		return nameUTF8
	case "x-user-defined":
		return "windows-1252"
	}
	return name
}
