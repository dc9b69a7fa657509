package input

import "fmt"

// UsageError is a problem with what the user asked for: a flag value that
// cannot be used, or a list or CSV file that cannot be used as given (one
// that cannot be opened, a column not in its header, an unknown encoding).
// Commands report it as bad usage, exit code 2. It is defined here, the
// lowest package that makes one, and package pipeline names the same type
// (pipeline.UsageError), so one errors.As finds either.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the problem itself.
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef makes a *UsageError from a format and its arguments, as
// fmt.Errorf does (%w wraps).
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}
