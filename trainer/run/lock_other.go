//go:build !unix

package run

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// flock does nothing where flock(2) does not exist: run directories are
// locked on Linux and macOS only (the platforms the trainer supports).
func flock(*os.File) error { return nil }
