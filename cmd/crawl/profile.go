package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// applyProfile sets every flag the site profile names and the command line
// did not. The profile's keys are the long flag names with '-' written '_'.
func applyProfile(flags *pflag.FlagSet, path string, explicit bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("--site: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		name := strings.ReplaceAll(key, "_", "-")
		f := flags.Lookup(name)
		if f == nil || name == "site" {
			return fmt.Errorf("profile %s: unknown key %q", path, key)
		}
		if f.Changed {
			continue
		}
		values, err := profileValues(m[key])
		if err != nil {
			return fmt.Errorf("profile %s: key %q: %w", path, key, err)
		}
		if len(values) > 1 && f.Value.Type() != "stringArray" {
			return fmt.Errorf("profile %s: key %q takes one value, not a list", path, key)
		}
		for _, v := range values {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("profile %s: key %q: %w", path, key, err)
			}
		}
	}
	return nil
}

func profileValues(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, errors.New("no value")
	case []any:
		var out []string
		for _, e := range x {
			s, err := profileValues(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case map[string]any:
		return nil, errors.New("want a value or a list, not a mapping")
	default:
		return []string{fmt.Sprint(x)}, nil
	}
}
