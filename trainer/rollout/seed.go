package rollout

// Seed streams. A trajectory's seed is a pure function of (run seed, step,
// prompt index, stream, a, b), so that batched and sequential rollouts see
// the same samples and a resumed run re-draws what the killed one drew.
const (
	streamFresh    = 1 // a = fresh index
	streamReset    = 2 // a = parent ordinal, b = reset index
	streamLocalize = 3 // a = parent ordinal
	streamStep     = 4 // thought-by-thought: a = step number (derived from a trajectory's seed)
)

// splitmix64's finaliser: a bijection with good avalanche.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Seed derives the seed of one sampling stream.
func Seed(run uint64, step, prompt, stream, a, b int) uint64 {
	h := mix(run)
	for _, v := range [...]int{step, prompt, stream, a, b} {
		h = mix(h ^ uint64(int64(v)))
	}
	return h
}
