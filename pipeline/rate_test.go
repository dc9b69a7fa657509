package pipeline

import "testing"

func TestParseRate(t *testing.T) {
	good := map[string]int64{
		"1000": 1000, "0": 0, "500k": 500 << 10, "500K": 500 << 10, "2M": 2 << 20, "2m": 2 << 20,
		"1.5M": 3 << 19, "1G": 1 << 30, " 64K ": 64 << 10, "0.5": 1,
	}
	for in, want := range good {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "-1K", "2MB", "fast", "1e6", "0x10", "2 M", "NaN", "Inf", "9999999999G"} {
		if got, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", in, got)
		}
	}
}
