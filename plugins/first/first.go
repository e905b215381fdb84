// Package first is the built-in `first` localizer: always step 1 (a reset
// to the empty prefix). No options.
package first

import (
	"context"
	"errors"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindLocalizer, "first", host.NoOptions(Localizer{}))
}

// Localizer always answers step 1.
type Localizer struct{}

// Localize implements host.Localizer.
func (Localizer) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if len(req.Steps) == 0 {
		return abi.Localization{}, errors.New("first: the request has no steps")
	}
	return abi.Localization{Step: 1}, nil
}

var _ host.Localizer = Localizer{}
