package parser

import (
	"fmt"
	"regexp"
	"strings"
)

// Rewrite is a compiled --rewrite rule. It is safe for concurrent use.
type Rewrite struct {
	re   *regexp.Regexp
	repl string
}

// CompileRewrite compiles a rule "REGEX=>REPLACEMENT": a Go regexp and a
// replacement in which $1, ${1} and ${name} stand for groups. The rule is
// split at the first "=>" and white space around both halves is dropped
// (URLs hold none). "$1" followed by letters means group 1 and the letters
// ("$1_big"), not a group named "1_big" as in regexp.Expand. A missing
// "=>", an empty or bad regexp is an error.
func CompileRewrite(rule string) (*Rewrite, error) {
	pat, repl, ok := strings.Cut(rule, "=>")
	if !ok {
		return nil, fmt.Errorf("rewrite rule %q: missing \"=>\"", rule)
	}
	pat, repl = strings.TrimSpace(pat), strings.TrimSpace(repl)
	if pat == "" {
		return nil, fmt.Errorf("rewrite rule %q: empty regexp", rule)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("rewrite rule %q: %w", rule, err)
	}
	return &Rewrite{re: re, repl: braceGroups(repl)}, nil
}

// Apply returns u with every match of the rule's regexp replaced.
func (r *Rewrite) Apply(u string) string {
	return r.re.ReplaceAllString(u, r.repl)
}

// braceGroups writes "$N" as "${N}" so that letters after it stay letters.
func braceGroups(repl string) string {
	if !strings.Contains(repl, "$") {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '$' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		switch next := repl[i+1]; {
		case next == '$':
			b.WriteString("$$")
			i++
		case next >= '0' && next <= '9':
			j := i + 1
			for j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			b.WriteString("${" + repl[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// StripQuery drops the query ("?...") and the fragment of u.
func StripQuery(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}
