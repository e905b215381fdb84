//go:build !cgo || noxla

package xla

import "github.com/gomlx/gomlx/backends"

// HasPJRT reports whether this binary can run graphs through a PJRT plugin.
const HasPJRT = false

func newPJRT(plugin string) (backends.Backend, error) { return nil, ErrNoPJRT }
