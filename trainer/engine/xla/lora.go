package xla

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/model"
)

// PEFT file names of an exported LoRA adapter.
const (
	AdapterWeightsFile = "adapter_model.safetensors"
	AdapterConfigFile  = "adapter_config.json"
)

// loraTargets are the module kinds LoRA can adapt.
var loraTargets = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// DefaultLoRATargets are the adapted modules when Extra "lora_targets" is
// not given: every attention projection.
const DefaultLoRATargets = "q_proj,k_proj,v_proj,o_proj"

// loraSpec configures LoRA: W x becomes W x + (Alpha/Rank) B A x with A
// [Rank, in] and B [out, Rank]; only A and B train, the base is frozen.
type loraSpec struct {
	Rank    int      `json:"r"`
	Alpha   float64  `json:"lora_alpha"`
	Targets []string `json:"target_modules"`
}

func (s *loraSpec) scale() float64 { return s.Alpha / float64(s.Rank) }

// validate reports every bad field.
func (s *loraSpec) validate() error {
	var errs []error
	if s.Rank <= 0 {
		errs = append(errs, fmt.Errorf("lora_rank = %d: must be > 0", s.Rank))
	}
	if !(s.Alpha > 0) {
		errs = append(errs, fmt.Errorf("lora_alpha = %v: must be > 0 (PEFT's default is 8; 2*rank is common)", s.Alpha))
	}
	if len(s.Targets) == 0 {
		errs = append(errs, errors.New("lora_targets is empty"))
	}
	for _, t := range s.Targets {
		if !slices.Contains(loraTargets, t) {
			errs = append(errs, fmt.Errorf("lora target %q: want some of %v", t, loraTargets))
		}
	}
	return errors.Join(errs...)
}

// parseLoRA reads the lora_* extra settings; nil when lora_rank is absent.
func parseLoRA(extra map[string]string) (*loraSpec, error) {
	r, ok := extra["lora_rank"]
	if !ok {
		for _, k := range []string{"lora_alpha", "lora_targets"} {
			if _, set := extra[k]; set {
				return nil, fmt.Errorf("xla engine: extra %s is set but lora_rank is not: set lora_rank to enable LoRA", k)
			}
		}
		return nil, nil
	}
	s := &loraSpec{}
	var errs []error
	n, err := strconv.Atoi(r)
	if err != nil {
		errs = append(errs, fmt.Errorf("lora_rank = %q: want an integer", r))
	}
	s.Rank = n
	s.Alpha = float64(2 * n)
	if a, ok := extra["lora_alpha"]; ok {
		if s.Alpha, err = strconv.ParseFloat(a, 64); err != nil {
			errs = append(errs, fmt.Errorf("lora_alpha = %q: want a number", a))
		}
	}
	t := DefaultLoRATargets
	if v, ok := extra["lora_targets"]; ok {
		t = v
	}
	for _, x := range strings.Split(t, ",") {
		if x = strings.TrimSpace(x); x != "" {
			s.Targets = append(s.Targets, x)
		}
	}
	if err := errors.Join(append(errs, s.validate())...); err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	return s, nil
}

// loraModule is one adapted Linear: its Hugging Face module path and shape.
type loraModule struct {
	name    string
	in, out int
}

// modules lists the adapted modules layer by layer, in loraTargets order.
func (s *loraSpec) modules(c model.Config) []loraModule {
	shapes := map[string][2]int{}
	for _, p := range c.Params() {
		if strings.HasSuffix(p.Name, ".weight") && len(p.Shape) == 2 {
			shapes[strings.TrimSuffix(p.Name, ".weight")] = [2]int{p.Shape[1], p.Shape[0]}
		}
	}
	var out []loraModule
	for l := 0; l < c.Layers; l++ {
		for _, t := range loraTargets {
			if !slices.Contains(s.Targets, t) {
				continue
			}
			kind := "self_attn."
			if strings.HasSuffix(t, "gate_proj") || strings.HasSuffix(t, "up_proj") || strings.HasSuffix(t, "down_proj") {
				kind = "mlp."
			}
			name := fmt.Sprintf("model.layers.%d.%s%s", l, kind, t)
			sh := shapes[name]
			out = append(out, loraModule{name: name, in: sh[0], out: sh[1]})
		}
	}
	return out
}

// pefName is the PEFT tensor name of a module's factor ("A" or "B").
func peftName(module, factor string) string {
	return "base_model.model." + module + ".lora_" + factor + ".weight"
}

// initLoRA returns fresh factors in modules() order (A then B per module):
// A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's Kaiming-uniform bound with
// a = sqrt(5)), B = 0, so the adapted model starts equal to the base.
func (s *loraSpec) init(c model.Config, seed uint64) []*model.Tensor {
	var out []*model.Tensor
	for i, m := range s.modules(c) {
		r := rand.New(rand.NewPCG(seed, 0x10a4^uint64(i)))
		a := &model.Tensor{Name: peftName(m.name, "A"), Shape: []int{s.Rank, m.in}, Data: make([]float32, s.Rank*m.in)}
		bound := 1 / math.Sqrt(float64(m.in))
		for j := range a.Data {
			a.Data[j] = float32((2*r.Float64() - 1) * bound)
		}
		b := &model.Tensor{Name: peftName(m.name, "B"), Shape: []int{m.out, s.Rank}, Data: make([]float32, m.out*s.Rank)}
		out = append(out, a, b)
	}
	return out
}

// peftConfig is adapter_config.json as HF PEFT writes it (the fields PEFT
// needs to load a LoRA adapter for a causal LM).
type peftConfig struct {
	PeftType          string   `json:"peft_type"`
	TaskType          string   `json:"task_type"`
	R                 int      `json:"r"`
	LoraAlpha         float64  `json:"lora_alpha"`
	LoraDropout       float64  `json:"lora_dropout"`
	TargetModules     []string `json:"target_modules"`
	Bias              string   `json:"bias"`
	FanInFanOut       bool     `json:"fan_in_fan_out"`
	InferenceMode     bool     `json:"inference_mode"`
	UseRSLoRA         bool     `json:"use_rslora"`
	BaseModelNameOrPa string   `json:"base_model_name_or_path"`
}

// writeAdapter writes adapter_model.safetensors and adapter_config.json.
func (s *loraSpec) writeAdapter(dir string, factors []*model.Tensor, base string) error {
	if err := model.WriteSafetensors(filepath.Join(dir, AdapterWeightsFile), factors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(peftConfig{PeftType: "LORA", TaskType: "CAUSAL_LM", R: s.Rank, LoraAlpha: s.Alpha,
		TargetModules: s.Targets, Bias: "none", InferenceMode: true, BaseModelNameOrPa: base}, "", "  ")
	return atomicfile.WriteFileSync(filepath.Join(dir, AdapterConfigFile), append(b, '\n'))
}

// readAdapter reads an adapter written by writeAdapter (or by PEFT, for
// the fields above) and returns its spec and factors in modules() order.
func readAdapter(dir string, c model.Config) (*loraSpec, []*model.Tensor, error) {
	path := filepath.Join(dir, AdapterConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var pc peftConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if pc.PeftType != "LORA" || pc.UseRSLoRA || pc.Bias != "none" {
		return nil, nil, fmt.Errorf("%s: peft_type %q, use_rslora %v, bias %q: only plain LoRA without biases is supported", path, pc.PeftType, pc.UseRSLoRA, pc.Bias)
	}
	s := &loraSpec{Rank: pc.R, Alpha: pc.LoraAlpha, Targets: pc.TargetModules}
	if err := s.validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	wpath := filepath.Join(dir, AdapterWeightsFile)
	ts, _, err := model.ReadSafetensors(wpath)
	if err != nil {
		return nil, nil, err
	}
	var out []*model.Tensor
	for _, m := range s.modules(c) {
		for _, f := range []struct {
			name  string
			shape []int
		}{{"A", []int{s.Rank, m.in}}, {"B", []int{m.out, s.Rank}}} {
			n := peftName(m.name, f.name)
			t, ok := ts[n]
			if !ok {
				return nil, nil, fmt.Errorf("%s: tensor %q missing", wpath, n)
			}
			if !slices.Equal(t.Shape, f.shape) {
				return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", wpath, n, t.Shape, f.shape)
			}
			out = append(out, t)
			delete(ts, n)
		}
	}
	for n := range ts {
		return nil, nil, fmt.Errorf("%s: unexpected tensor %q (target_modules do not match the file?)", wpath, n)
	}
	return s, out, nil
}
