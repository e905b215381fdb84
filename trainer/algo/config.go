package algo

import (
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// Norm is how per-token loss weights are normalised across a batch.
type Norm string

// Normalisers. N is the number of trained trajectories in the batch, |m_i|
// the number of trained tokens of trajectory i.
const (
	// NormSeqMean: w = A_i / (|m_i| * N), that is
	// L = -mean_i(A_i * mean_{t in m_i} log pi), the released loss.
	NormSeqMean Norm = "seq-mean"
	// NormTokenMean: w = A_i / sum_j |m_j|, one mean over every trained
	// token of the batch (DAPO's token-level loss).
	NormTokenMean Norm = "token-mean"
	// NormSeqSum: w = A_i / (MaxLen * N), a sum over each sequence divided
	// by a constant (Dr.GRPO: no length bias).
	NormSeqSum Norm = "seq-sum"
)

// FailPolicy says what happens to a group with an unusable verdict (a
// timeout, crash, abstain, ...). A sample with an unusable verdict is
// never trained on as reward 0.
type FailPolicy string

// Failure policies (the names match the host's on_failure actions).
const (
	// FailDropSample: drop the sample; the group is normalised over the
	// rest of its members.
	FailDropSample FailPolicy = "drop_sample"
	// FailDropGroup: drop every group that holds an unusable sample.
	FailDropGroup FailPolicy = "drop_group"
	// FailRun: Assemble returns an error wrapping ErrUnusable.
	FailRun FailPolicy = "fail_run"
)

// ErrUnusable is wrapped by Assemble's error under FailRun.
var ErrUnusable = errors.New("unusable verdict")

// ZeroStd is the standard deviation under which a group's advantages are
// all zero.
const ZeroStd = 1e-8

// Config is the loss side of the algorithm. The zero value is invalid:
// start from DefaultConfig.
type Config struct {
	// Loss is engine.LossPG (plain policy gradient, the release default)
	// or engine.LossClip (PPO surrogate). Default pg.
	Loss engine.LossKind
	// ClipLow and ClipHigh bound the ratio for LossClip: [1-ClipLow,
	// 1+ClipHigh]. Default 0.2 and 0.2; DAPO's clip-higher sets ClipHigh
	// 0.28.
	ClipLow  float32
	ClipHigh float32
	// Norm is the loss normaliser. Default seq-mean.
	Norm Norm
	// MaxLen is the constant divisor of NormSeqSum, normally the response
	// token limit. Default 5120.
	MaxLen int
	// NoStd turns off the division by the group's std (Dr.GRPO):
	// A = r - mean. Default false. Groups with std < ZeroStd still get
	// A = 0.
	NoStd bool
	// SkipZeroVar leaves groups with std < ZeroStd out of the batch, so
	// they do not count in N. Default false.
	SkipZeroVar bool
	// NoMask trains reset trajectories on their copied prefix too (the
	// no-mask ablation). Default false: suffix only.
	NoMask bool
	// OnUnusable is the failure policy for unusable verdicts. Default
	// drop_sample.
	OnUnusable FailPolicy
}

// DefaultConfig returns the released settings: plain policy gradient,
// sequence-mean normalisation, std division, suffix-only masks.
func DefaultConfig() Config {
	return Config{
		Loss:       engine.LossPG,
		ClipLow:    0.2,
		ClipHigh:   0.2,
		Norm:       NormSeqMean,
		MaxLen:     5120,
		OnUnusable: FailDropSample,
	}
}

// DrGRPO returns c with Dr.GRPO's changes: no std division and
// sequence-sum normalisation by MaxLen.
func (c Config) DrGRPO() Config {
	c.NoStd = true
	c.Norm = NormSeqSum
	return c
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Loss {
	case engine.LossPG, engine.LossClip:
	default:
		errs = append(errs, fmt.Errorf("loss = %q: want %q or %q", c.Loss, engine.LossPG, engine.LossClip))
	}
	if c.Loss == engine.LossClip {
		if !(c.ClipLow > 0 && c.ClipLow < 1) {
			errs = append(errs, fmt.Errorf("clip_low = %g: want a value in (0, 1), e.g. 0.2", c.ClipLow))
		}
		if !(c.ClipHigh > 0) {
			errs = append(errs, fmt.Errorf("clip_high = %g: want a value > 0, e.g. 0.2 (0.28 for clip-higher)", c.ClipHigh))
		}
	}
	switch c.Norm {
	case NormSeqMean, NormTokenMean:
	case NormSeqSum:
		if c.MaxLen < 1 {
			errs = append(errs, fmt.Errorf("max_len = %d: norm %q divides by it; set it to the response token limit", c.MaxLen, NormSeqSum))
		}
	default:
		errs = append(errs, fmt.Errorf("norm = %q: want %q, %q or %q", c.Norm, NormSeqMean, NormTokenMean, NormSeqSum))
	}
	switch c.OnUnusable {
	case FailDropSample, FailDropGroup, FailRun:
	default:
		errs = append(errs, fmt.Errorf("on_unusable = %q: want %q, %q or %q", c.OnUnusable, FailDropSample, FailDropGroup, FailRun))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("algo: config: %w", err)
	}
	return nil
}
