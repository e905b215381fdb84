package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Checkpoint file names inside a model directory, as Hugging Face names them.
const (
	ConfigFile      = "config.json"
	WeightsFile     = "model.safetensors"
	WeightsIndex    = "model.safetensors.index.json" // sharded checkpoints
	weightsMetadata = "pt"                           // "format" metadata transformers expects
)

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// LoadWeights reads the weights of a checkpoint directory (model.safetensors,
// or the shards listed in model.safetensors.index.json) and returns them in
// c.Params() order, as float32.
//
// A missing tensor, an unexpected tensor or a shape mismatch is an error that
// names the file and the tensor. When c.TiedEmbeddings and the file also
// holds lm_head.weight, it is accepted only if equal to the embedding (some
// exporters write both). Rotary inv_freq buffers written by old exporters
// are ignored.
func LoadWeights(dir string, c Config) ([]*Tensor, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("load weights from %s: %w", dir, err)
	}
	files, err := weightFiles(dir)
	if err != nil {
		return nil, err
	}
	all := map[string]*Tensor{}
	from := map[string]string{}
	for _, f := range files {
		ts, _, err := ReadSafetensors(f)
		if err != nil {
			return nil, err
		}
		for name, t := range ts {
			if prev, dup := from[name]; dup {
				return nil, fmt.Errorf("load weights: tensor %q is in both %s and %s", name, prev, f)
			}
			all[name], from[name] = t, f
		}
	}
	where := strings.Join(files, ", ")
	specs := c.Params()
	out := make([]*Tensor, 0, len(specs))
	var errs []error
	for _, p := range specs {
		t, ok := all[p.Name]
		if !ok {
			hint := ""
			if p.Name == "lm_head.weight" {
				hint = `; if the head is tied to the embedding, set "tie_word_embeddings": true in config.json`
			} else if strings.HasSuffix(p.Name, ".bias") {
				hint = "; q/k/v biases are expected because model_type is qwen2"
			}
			errs = append(errs, fmt.Errorf("tensor %q (shape %v): missing from %s%s", p.Name, p.Shape, where, hint))
			continue
		}
		delete(all, p.Name)
		if !slices.Equal(t.Shape, p.Shape) {
			errs = append(errs, fmt.Errorf("tensor %q in %s: shape %v, but config.json implies %v; check that config.json belongs to these weights", p.Name, from[p.Name], t.Shape, p.Shape))
			continue
		}
		out = append(out, t)
	}
	if head, ok := all["lm_head.weight"]; ok && c.TiedEmbeddings {
		delete(all, "lm_head.weight")
		if emb := out[0]; len(errs) == 0 && !slices.Equal(head.Data, emb.Data) {
			errs = append(errs, fmt.Errorf(`tensor "lm_head.weight" in %s differs from model.embed_tokens.weight but config.json has "tie_word_embeddings": true; set it to false`, from["lm_head.weight"]))
		}
	}
	var extra []string
	for name := range all {
		if strings.HasSuffix(name, "rotary_emb.inv_freq") {
			continue
		}
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		errs = append(errs, fmt.Errorf("tensor %q in %s: not a parameter of this %s model (%d layers, bias %v, tied %v); check config.json", name, from[name], c.ModelType, c.Layers, c.QKVBias, c.TiedEmbeddings))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("load weights from %s: %w", dir, errors.Join(errs...))
	}
	return out, nil
}

// weightFiles lists the safetensors files of a checkpoint directory.
func weightFiles(dir string) ([]string, error) {
	single := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(single); err == nil {
		return []string{single}, nil
	}
	idxPath := filepath.Join(dir, WeightsIndex)
	b, err := os.ReadFile(idxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load weights: %s has neither %s nor %s", dir, WeightsFile, WeightsIndex)
	}
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("load weights: %s: %w", idxPath, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range idx.WeightMap {
		if f != filepath.Base(f) {
			return nil, fmt.Errorf("load weights: %s: shard %q must be a file name in the same directory", idxPath, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(dir, f))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load weights: %s: empty weight_map", idxPath)
	}
	sort.Strings(files)
	return files, nil
}

// SaveWeights writes config.json and model.safetensors (F32, atomically) into
// dir, which must exist. ts must be in c.Params() order.
func SaveWeights(dir string, c Config, ts []*Tensor) error {
	specs := c.Params()
	if len(ts) != len(specs) {
		return fmt.Errorf("save weights: %d tensors, want %d for this config", len(ts), len(specs))
	}
	for i, p := range specs {
		if ts[i].Name != p.Name || !slices.Equal(ts[i].Shape, p.Shape) || len(ts[i].Data) != numElements(p.Shape) {
			return fmt.Errorf("save weights: tensor %d is %q %v with %d values, want %q %v", i, ts[i].Name, ts[i].Shape, len(ts[i].Data), p.Name, p.Shape)
		}
	}
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": weightsMetadata}); err != nil {
		return err
	}
	return c.WriteConfig(filepath.Join(dir, ConfigFile))
}

// InitWeights returns freshly initialised parameters in c.Params() order:
// matrices drawn from N(0, 0.02²) (as transformers' initializer_range),
// norm weights 1, biases 0. Each tensor has its own random stream derived
// from seed and its position, so the result depends only on c and seed.
func InitWeights(c Config, seed uint64) []*Tensor {
	specs := c.Params()
	out := make([]*Tensor, len(specs))
	for i, p := range specs {
		t := &Tensor{Name: p.Name, Shape: append([]int{}, p.Shape...), Data: make([]float32, numElements(p.Shape))}
		switch {
		case strings.HasSuffix(p.Name, "norm.weight"):
			for j := range t.Data {
				t.Data[j] = 1
			}
		case strings.HasSuffix(p.Name, ".bias"):
		default:
			r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(i)))
			for j := range t.Data {
				t.Data[j] = float32(0.02 * r.NormFloat64())
			}
		}
		out[i] = t
	}
	return out
}
