// Package oracle is the built-in `oracle` localizer: it answers the
// verifier's FirstError (the first wrong step reported by a process
// verifier; 0 means no wrong step). When the request carries no verdict or
// the verdict has no FirstError it fails with ErrNoFirstError, because any
// made-up step would silently turn the oracle into another localizer. No
// options.
package oracle

import (
	"context"
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// ErrNoFirstError is returned when the verdict does not report a first
// error: configure a process verifier (one that sets first_error).
var ErrNoFirstError = errors.New("oracle: the verdict reports no first_error; use a process verifier that sets it")

func init() {
	host.RegisterBuiltin(abi.KindLocalizer, "oracle", host.NoOptions(Localizer{}))
}

// Localizer answers the verdict's FirstError.
type Localizer struct{}

// Localize implements host.Localizer.
func (Localizer) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if req.Verdict == nil || req.Verdict.FirstError == nil {
		return abi.Localization{}, ErrNoFirstError
	}
	k := *req.Verdict.FirstError
	if k < 0 || k > len(req.Steps) {
		return abi.Localization{}, fmt.Errorf("oracle: first_error %d is outside 0..%d", k, len(req.Steps))
	}
	return abi.Localization{Step: k, Confidence: 1}, nil
}

var _ host.Localizer = Localizer{}
