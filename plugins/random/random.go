// Package random is the built-in `random` localizer (RRPO): a step drawn
// uniformly from 1..len(steps) with a generator seeded by the request's
// Seed, so the same request always gets the same step. No options.
package random

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindLocalizer, "random", host.NoOptions(Localizer{}))
}

// Localizer picks a uniform random step.
type Localizer struct{}

// Localize implements host.Localizer.
func (Localizer) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if len(req.Steps) == 0 {
		return abi.Localization{}, errors.New("random: the request has no steps")
	}
	r := rand.New(rand.NewPCG(req.Seed, 0x5eed))
	return abi.Localization{Step: 1 + r.IntN(len(req.Steps))}, nil
}

var _ host.Localizer = Localizer{}
