package cpu

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// candidate is a token and its (temperature-scaled) logit.
type candidate struct {
	id int
	z  float32
}

// sampleToken draws the next token from one row of logits and returns it
// with its log-probability and the entropy of the row's distribution, both
// at temperature 1. Temperature 0 is greedy
// (argmax, ties to the lowest id). Top-k and top-p keep the most probable
// tokens (ties broken by lower id), then the kept probabilities are
// renormalised. buf is reusable scratch.
func sampleToken(logits []float32, s engine.Sampling, rng *rand.Rand, buf []candidate) (int, float32, float32, []candidate) {
	lse, ent := logSumExpEntropy(logits)
	if s.Temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best, float32(float64(logits[best]) - lse), float32(ent), buf
	}
	inv := 1 / float64(s.Temperature)
	buf = buf[:0]
	for i, v := range logits {
		buf = append(buf, candidate{i, float32(float64(v) * inv)})
	}
	topP := s.TopP > 0 && s.TopP < 1
	if s.TopK > 0 || topP {
		sort.Slice(buf, func(a, b int) bool {
			if buf[a].z != buf[b].z {
				return buf[a].z > buf[b].z
			}
			return buf[a].id < buf[b].id
		})
		if s.TopK > 0 && s.TopK < len(buf) {
			buf = buf[:s.TopK]
		}
	}
	zmax := buf[0].z
	for _, c := range buf {
		zmax = max(zmax, c.z)
	}
	probs := make([]float64, len(buf))
	var tot float64
	for i, c := range buf {
		probs[i] = math.Exp(float64(c.z - zmax))
		tot += probs[i]
	}
	if topP {
		var cum float64
		keep := len(buf)
		for i, p := range probs {
			cum += p / tot
			if cum >= float64(s.TopP) {
				keep = i + 1
				break
			}
		}
		buf, probs = buf[:keep], probs[:keep]
		tot = 0
		for _, p := range probs {
			tot += p
		}
	}
	u := rng.Float64() * tot
	pick := buf[len(buf)-1].id
	var cum float64
	for i, p := range probs {
		cum += p
		if u < cum {
			pick = buf[i].id
			break
		}
	}
	return pick, float32(float64(logits[pick]) - lse), float32(ent), buf
}
