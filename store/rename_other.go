//go:build !linux

package store

// renameGuarded reports whether renameNew is atomic here: not on this
// system, so new names are looked at on disk one by one (freeListed).
func renameGuarded() bool { return false }

// renameNew renames old to new unless something is at new: ErrNameTaken.
// This system has no atomic way to ask that: it looks first, then renames.
func renameNew(old, new string) error {
	return renameLooking(old, new)
}
