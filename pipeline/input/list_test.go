package input

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadList(t *testing.T) {
	const list = "\ufeffhttp://h/1.png\r\n\n  # a comment\n  http://h/2.png  \n#http://h/skipped.png\nhttp://h/3.png"
	want := []string{"http://h/1.png", "http://h/2.png", "http://h/3.png"}
	file := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(file, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"-", file} {
		var got []string
		err := ReadList(name, strings.NewReader(list), func(u string) error {
			got = append(got, u)
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ReadList(%s) read %q, %v; want %q", name, got, err, want)
		}
	}

	// An error of fn stops the reading and comes back as it is.
	stop := errors.New("stop")
	n := 0
	err := ReadList("-", strings.NewReader(list), func(string) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("ReadList with a failing fn = %v after %d URLs", err, n)
	}
}

func TestCheckList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(file, []byte("http://h/1.png\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"-", file} {
		if err := CheckList(ok); err != nil {
			t.Errorf("CheckList(%s) = %v", ok, err)
		}
	}
	cases := map[string]string{
		filepath.Join(dir, "none.txt"): "none.txt",
		dir:                            "is a folder",
	}
	for name, want := range cases {
		err := CheckList(name)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckList(%s) = %v; want a usage error saying %q", name, err, want)
		}
		err = ReadList(name, nil, func(string) error { return nil })
		if name != dir && !errors.As(err, &ue) {
			t.Errorf("ReadList(%s) = %v; want a usage error", name, err)
		}
	}
}
