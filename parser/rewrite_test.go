package parser

import (
	"strings"
	"testing"
)

func TestCompileRewriteErrors(t *testing.T) {
	tests := []struct {
		rule, wantErr string
	}{
		{"no arrow", `missing "=>"`},
		{"", `missing "=>"`},
		{"=>x", "empty regexp"},
		{" => x", "empty regexp"},
		{"(unclosed=>x", "missing closing )"},
		{"a**=>x", "invalid nested repetition"},
	}
	for _, tt := range tests {
		_, err := CompileRewrite(tt.rule)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "rewrite rule") {
			t.Errorf("CompileRewrite(%q) error = %v, want one containing %q", tt.rule, err, tt.wantErr)
		}
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		rules []string
		in    string
		want  string
	}{
		{[]string{`_thumb(\.\w+)$=>$1`}, "http://i.example.com/a/1_thumb.jpg", "http://i.example.com/a/1.jpg"},
		{[]string{`/small/=>/big/`}, "http://i.example.com/small/1.jpg", "http://i.example.com/big/1.jpg"},
		{[]string{`^(.*)/t_(\d+)\.jpg$ => $1/$2_big.jpg`}, "http://x.org/p/t_12.jpg", "http://x.org/p/12_big.jpg"},
		{[]string{`(\d+)\.jpg=>${1}x.jpg`}, "http://x.org/7.jpg", "http://x.org/7x.jpg"},
		{[]string{`(?P<id>\d+)\.jpg=>${id}.png`}, "http://x.org/7.jpg", "http://x.org/7.png"},
		{[]string{`\.jpg=>$$.jpg`}, "http://x.org/7.jpg", "http://x.org/7$.jpg"},
		{[]string{`nomatch=>x`}, "http://x.org/7.jpg", "http://x.org/7.jpg"},
		{[]string{`a=>b=>c`}, "http://x.org/a", "http://x.org/b=>c"},
		// Rules apply in order.
		{[]string{`/thumbs/=>/photos/`, `-\d+x\d+(\.\w+)$=>$1`}, "http://x.org/thumbs/p-150x150.jpg", "http://x.org/photos/p.jpg"},
	}
	for _, tt := range tests {
		got := tt.in
		for _, rule := range tt.rules {
			r, err := CompileRewrite(rule)
			if err != nil {
				t.Fatalf("CompileRewrite(%q): %v", rule, err)
			}
			got = r.Apply(got)
		}
		if got != tt.want {
			t.Errorf("rewrite %q with %q = %q, want %q", tt.in, tt.rules, got, tt.want)
		}
	}
}

func TestStripQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://x.org/a.jpg?w=200&h=100", "http://x.org/a.jpg"},
		{"http://x.org/a.jpg?w=200#f", "http://x.org/a.jpg"},
		{"http://x.org/a.jpg#f?x", "http://x.org/a.jpg"},
		{"http://x.org/a.jpg?", "http://x.org/a.jpg"},
		{"http://x.org/a.jpg", "http://x.org/a.jpg"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := StripQuery(tt.in); got != tt.want {
			t.Errorf("StripQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
