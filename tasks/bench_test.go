package tasks

import (
	"math/rand/v2"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkVerify grades a flawed chain of each family at the default
// difficulty.
func BenchmarkVerify(b *testing.B) {
	for _, family := range Families() {
		b.Run(family, func(b *testing.B) {
			ts, err := Generate(family, 1, 1, DefaultDifficulty)
			if err != nil {
				b.Fatal(err)
			}
			c, err := FlawedFirstUniform(ts[0], rand.New(rand.NewPCG(1, 1)), 0)
			if err != nil {
				b.Fatal(err)
			}
			req := &abi.VerifyRequest{Task: ts[0], Response: c.Text()}
			b.ReportAllocs()
			for b.Loop() {
				if v := Verify(req); v.Status != abi.StatusOK {
					b.Fatal(v.Detail)
				}
			}
		})
	}
}
