package parser

import (
	"strconv"
	"strings"
)

// isSrcsetAttr reports whether an attribute holds a srcset: srcset itself,
// imagesrcset (<link rel=preload>) and the lazy-loading copies scripts read
// from, such as data-srcset and data-lazy-srcset.
func isSrcsetAttr(name string) bool {
	return name == "srcset" || name == "imagesrcset" || strings.HasSuffix(name, "-srcset")
}

// srcsetCandidate is one image candidate of a srcset attribute.
type srcsetCandidate struct {
	url     string
	width   float64 // from a "w" descriptor; 0 if none
	density float64 // from an "x" descriptor; 1 if there is no descriptor
}

// largestCandidate returns the URL of the largest image candidate of a
// srcset value: the one with the greatest "w" descriptor if any has one,
// else the one with the greatest "x" density (a candidate without a
// descriptor is "1x"). On a tie the first wins. It returns "" when the value
// holds no valid candidate.
func largestCandidate(srcset string) string {
	best, found := srcsetCandidate{}, false
	for _, c := range parseSrcset(srcset) {
		switch {
		case !found:
			best, found = c, true
		case best.width > 0 || c.width > 0:
			if c.width > best.width {
				best = c
			}
		case c.density > best.density:
			best = c
		}
	}
	return best.url
}

// parseSrcset follows the HTML Standard's "parse a srcset attribute": the
// candidates are separated by commas, each a URL and optional descriptors;
// a candidate with invalid descriptors is dropped.
func parseSrcset(s string) []srcsetCandidate {
	var out []srcsetCandidate
	pos := 0
	for {
		// Splitting loop: skip white space and commas.
		for pos < len(s) && (isSpace(s[pos]) || s[pos] == ',') {
			pos++
		}
		if pos >= len(s) {
			return out
		}
		start := pos
		for pos < len(s) && !isSpace(s[pos]) {
			pos++
		}
		u := s[start:pos]
		var descriptors []string
		if strings.HasSuffix(u, ",") {
			u = strings.TrimRight(u, ",")
		} else {
			descriptors, pos = tokenizeDescriptors(s, pos)
		}
		if c, ok := checkCandidate(u, descriptors); ok {
			out = append(out, c)
		}
	}
}

// tokenizeDescriptors is the standard's descriptor tokenizer, from pos to
// the comma that ends the candidate (or the end of s). It returns the
// descriptors and the position after them.
func tokenizeDescriptors(s string, pos int) ([]string, int) {
	const (
		inDescriptor = iota
		inParens
		afterDescriptor
	)
	var (
		out   []string
		cur   strings.Builder
		state = inDescriptor
	)
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for ; pos < len(s); pos++ {
		c := s[pos]
		switch state {
		case inDescriptor:
			switch {
			case isSpace(c):
				flush()
				state = afterDescriptor
			case c == ',':
				flush()
				return out, pos + 1
			case c == '(':
				cur.WriteByte(c)
				state = inParens
			default:
				cur.WriteByte(c)
			}
		case inParens:
			cur.WriteByte(c)
			if c == ')' {
				state = inDescriptor
			}
		case afterDescriptor:
			if !isSpace(c) {
				state = inDescriptor
				pos-- // reconsume
			}
		}
	}
	flush()
	return out, pos
}

// checkCandidate checks a candidate's descriptors as the standard's descriptor
// parser does: at most one of "Nw" (N > 0, an integer) and "Nx" (N >= 0),
// an optional "Nh" only beside a "w".
func checkCandidate(u string, descriptors []string) (srcsetCandidate, bool) {
	c := srcsetCandidate{url: u}
	var hasW, hasX, hasH bool
	for _, d := range descriptors {
		if d == "" {
			return c, false
		}
		num, unit := d[:len(d)-1], d[len(d)-1]
		switch unit {
		case 'w':
			if hasW || hasX || !isDigits(num) {
				return c, false
			}
			w, err := strconv.ParseFloat(num, 64)
			if err != nil || w == 0 {
				return c, false
			}
			c.width, hasW = w, true
		case 'x':
			if hasW || hasX || hasH || !isFloat(num) {
				return c, false
			}
			x, err := strconv.ParseFloat(num, 64)
			if err != nil || x < 0 {
				return c, false
			}
			c.density, hasX = x, true
		case 'h':
			if hasH || hasX || !isDigits(num) {
				return c, false
			}
			if h, err := strconv.ParseFloat(num, 64); err != nil || h == 0 {
				return c, false
			}
			hasH = true
		default:
			return c, false
		}
	}
	if hasH && !hasW {
		return c, false
	}
	if !hasX {
		c.density = 1
	}
	return c, u != ""
}

// isDigits reports whether s is a valid non-negative integer: one or more
// ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isFloat reports whether s is a valid floating-point number in the HTML
// Standard's sense: an optional '-', digits and/or '.' followed by digits,
// and an optional exponent.
func isFloat(s string) bool {
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if !isDigits(exp) {
			return false
		}
	}
	intPart, frac, dot := strings.Cut(mant, ".")
	if dot {
		return (intPart == "" || isDigits(intPart)) && isDigits(frac)
	}
	return isDigits(intPart)
}
