package pipeline

import (
	"reflect"
	"testing"
)

func TestParsePages(t *testing.T) {
	cases := []struct {
		spec  string
		seeds []pageSeed
		bad   bool
	}{
		{spec: "5", seeds: []pageSeed{{page: 5}}},
		{spec: "1-3", seeds: []pageSeed{{page: 1}, {page: 2}, {page: 3}}},
		{spec: "1,3,7-9", seeds: []pageSeed{{page: 1}, {page: 3}, {page: 7}, {page: 8}, {page: 9}}},
		{spec: "3-", seeds: []pageSeed{{page: 3, open: true}}},
		{spec: " 2 , 2-3 ", seeds: []pageSeed{{page: 2}, {page: 3}}},
		{spec: "", bad: true},
		{spec: "0", bad: true},
		{spec: "3-1", bad: true},
		{spec: "a-b", bad: true},
		{spec: "1-,4-", bad: true},
		{spec: "-3", bad: true},
	}
	for _, tc := range cases {
		p, err := ParsePages(tc.spec)
		if tc.bad {
			if err == nil {
				t.Errorf("ParsePages(%q) = %v, want an error", tc.spec, p)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePages(%q): %v", tc.spec, err)
			continue
		}
		if got := p.seeds(); !reflect.DeepEqual(got, tc.seeds) {
			t.Errorf("ParsePages(%q) seeds %v, want %v", tc.spec, got, tc.seeds)
		}
	}
}

func TestParseSize(t *testing.T) {
	cases := map[string]int64{"1024": 1024, "50MB": 50 << 20, "1.5k": 1536, "2 GiB": 2 << 30, "0": 0}
	for in, want := range cases {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-1"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): want an error", in)
		}
	}
}

func TestExpandName(t *testing.T) {
	ft := FileTask{URL: "https://img.example.com/a/b/photo%20one.JPG?x=1", Page: 3, N: 7, Title: "《东邪/西毒》 "}
	cases := map[string]string{
		"{name}{ext}":                 "photo one.JPG",
		"{host}/{page}-{n}{ext}":      "img.example.com/3-7.JPG",
		"{title}/{name}{ext}":         "《东邪_西毒》/photo one.JPG",
		"x/{title}/../{name}":         "x/《东邪_西毒》/../photo one",
		"{name}{ext}.{page}{unknown}": "photo one.JPG.3{unknown}",
	}
	for tmpl, want := range cases {
		if got := expandName(tmpl, ft); got != want {
			t.Errorf("expandName(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if got := expandName("{title}/{name}{ext}", FileTask{URL: "http://h/"}); got != "untitled/h" {
		t.Errorf("empty title and name: %q", got)
	}
}
