package cpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
	"github.com/stretchr/testify/require"
)

// byteTok is a test tokenizer: id i < 256 is byte i; ids above are
// specials named "<i>".
type byteTok struct{ vocab int }

func (b byteTok) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := range len(text) {
		ids[i] = int(text[i])
	}
	return ids
}
func (b byteTok) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.Write(b.TokenBytes(id))
	}
	return strings.ToValidUTF8(sb.String(), "\uFFFD")
}
func (b byteTok) TokenBytes(id int) []byte {
	if id < 256 {
		return []byte{byte(id)}
	}
	return []byte(fmt.Sprintf("<%d>", id))
}
func (b byteTok) VocabSize() int                   { return b.vocab }
func (b byteTok) TokenID(token string) (int, bool) { return 0, false }
func (b byteTok) EOS() int                         { return -1 }

var _ tokenizer.Tokenizer = byteTok{}

var testOptim = engine.Optim{LR: 1e-2, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "cosine", WarmupSteps: 2, TotalSteps: 100}

// nanoPolicy is a random "nano" model with a byte vocabulary; weights are
// drawn with std `scale` so that gradients are far from zero.
func nanoPolicy(t testing.TB, cfgEdit func(*model.Config), scale float32, seed uint64) *Policy {
	cfg, err := model.Preset("nano")
	require.NoError(t, err)
	cfg = cfg.WithVocab(260)
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	ws := model.InitWeights(cfg, seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for _, w := range ws {
		if strings.HasSuffix(w.Name, "norm.weight") || strings.HasSuffix(w.Name, ".bias") {
			for i := range w.Data {
				w.Data[i] += 0.1 * float32(r.NormFloat64())
			}
			continue
		}
		for i := range w.Data {
			w.Data[i] *= scale / 0.02
		}
	}
	p, err := New(cfg, byteTok{260}, ws, testOptim)
	require.NoError(t, err)
	return p
}

func randSeqs(r *rand.Rand, n, minLen, maxLen, vocab int) [][]int {
	out := make([][]int, n)
	for i := range out {
		s := make([]int, minLen+r.IntN(maxLen-minLen+1))
		for j := range s {
			s[j] = r.IntN(vocab)
		}
		out[i] = s
	}
	return out
}
