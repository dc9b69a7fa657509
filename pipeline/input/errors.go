package input

import "fmt"

// UsageError is a list or CSV file that cannot be used as the user gave it:
// one that cannot be opened, a column not in its header, an unknown
// encoding. Commands report it as bad usage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the problem itself.
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}
