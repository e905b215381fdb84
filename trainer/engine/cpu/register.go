package cpu

import "github.com/rewind-rl/rewind/trainer/engine"

func init() {
	engine.Register("cpu", func(opts engine.Options) (engine.Policy, error) { return Open(opts) })
}
