package ckpt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// testState is an engine's state.json: Header plus a field of its own.
type testState struct {
	Header
	Extra string `json:"extra"`
}

var testOptim = engine.Optim{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Schedule: "constant"}

// save writes a checkpoint of a "nano" model with moments 1 (m) and 2 (v)
// and returns it with the weights it holds.
func save(t *testing.T, dir string, step int) []*model.Tensor {
	t.Helper()
	cfg, err := model.Preset("nano")
	require.NoError(t, err)
	tok, err := tokenizer.NewChar("abc", []string{tokenizer.EndOfText})
	require.NoError(t, err)
	cfg = cfg.WithVocab(tok.VocabSize())
	ws := model.InitWeights(cfg, 1)
	fill := func(v float32) []*model.Tensor {
		out := make([]*model.Tensor, len(ws))
		for i, w := range ws {
			d := make([]float32, len(w.Data))
			for j := range d {
				d[j] = v
			}
			out[i] = &model.Tensor{Name: w.Name, Shape: w.Shape, Data: d}
		}
		return out
	}
	st := &testState{Header: Header{Format: "test/1", Step: step, Seed: 9, Optim: testOptim}, Extra: "x"}
	require.NoError(t, Save(dir, Checkpoint{Config: cfg, Weights: ws, M: fill(1), V: fill(2), Tokenizer: tok, State: st,
		Extra: func(tmp string) error { return atomicfile.WriteFileSync(filepath.Join(tmp, "extra.txt"), []byte("x")) }}))
	return ws
}

func names(ws []*model.Tensor) ([]string, []int) {
	var n []string
	var s []int
	for _, w := range ws {
		n, s = append(n, w.Name), append(s, len(w.Data))
	}
	return n, s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	ws := save(t, dir, 4)
	for _, f := range []string{model.ConfigFile, "model.safetensors", TokenizerFile, OptimizerFile, StateFile, "extra.txt"} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	_, got, _, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, ws, got)

	var st testState
	opts := engine.Options{Dir: dir}
	found, err := ReadState(&opts, "test/1", &st)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 4, st.Step)
	require.Equal(t, "x", st.Extra)
	require.Equal(t, testOptim, opts.Optim, "zero Optim is taken from state.json")
	require.Equal(t, uint64(9), opts.Seed, "zero Seed is taken from state.json")

	opts = engine.Options{Dir: dir, Seed: 5, Optim: engine.Optim{LR: 1}}
	_, err = ReadState(&opts, "test/1", &testState{})
	require.NoError(t, err)
	require.Equal(t, uint64(5), opts.Seed, "a given Seed wins")
	require.Equal(t, 1.0, opts.Optim.LR, "a given Optim wins")

	n, s := names(ws)
	m, v, err := ReadMoments(dir, n, s)
	require.NoError(t, err)
	require.Len(t, m, len(ws))
	require.Equal(t, float32(1), m[0][0])
	require.Equal(t, float32(2), v[len(v)-1][0])
}

func TestReadStateWeightsOnlyAndForeignFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	save(t, dir, 4)
	st := testState{}
	opts := engine.Options{Dir: dir, WeightsOnly: true}
	found, err := ReadState(&opts, "other/1", &st)
	require.NoError(t, err, "weights-only ignores state.json, whoever wrote it")
	require.False(t, found)
	require.Zero(t, st)
	require.Zero(t, opts.Optim)

	opts.WeightsOnly = false
	_, err = ReadState(&opts, "other/1", &st)
	require.ErrorContains(t, err, `format "test/1", want "other/1"`)
	require.ErrorContains(t, err, "weights-only")

	found, err = ReadState(&engine.Options{Dir: t.TempDir()}, "test/1", &st)
	require.NoError(t, err, "a Hugging Face folder has no state.json")
	require.False(t, found)

	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o644))
	_, err = ReadState(&engine.Options{Dir: dir}, "test/1", &st)
	require.ErrorContains(t, err, StateFile)
}

func TestReadMomentsErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	ws := save(t, dir, 1)
	n, s := names(ws)
	_, _, err := ReadMoments(dir, append(n, "lm_head.weight"), append(s, 3))
	require.ErrorContains(t, err, `tensor "m.lm_head.weight" missing`)
	s2 := append([]int(nil), s...)
	s2[0]++
	_, _, err = ReadMoments(dir, n, s2)
	require.ErrorContains(t, err, "values, want")
	_, _, err = ReadMoments(dir, n[1:], s[1:])
	require.ErrorContains(t, err, "unexpected tensor \"m."+n[0]+"\"")
	require.NoError(t, os.Remove(filepath.Join(dir, OptimizerFile)))
	_, _, err = ReadMoments(dir, n, s)
	require.ErrorContains(t, err, OptimizerFile)
}

func TestWriteDirReplacesAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	write := func(content string, fail error) error {
		return WriteDir(dir, func(tmp string) error {
			if err := atomicfile.WriteFileSync(filepath.Join(tmp, "f"), []byte(content)); err != nil {
				return err
			}
			return fail
		})
	}
	require.NoError(t, write("one", nil))
	require.NoError(t, write("two", nil), "replacing an existing folder")
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	boom := errors.New("boom")
	require.ErrorIs(t, write("three", boom), boom)
	b, err = os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "two", string(b), "a failed write leaves the old folder")
	left, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	require.Len(t, left, 1, "no temporary folder is left behind")
}

func TestLoadErrors(t *testing.T) {
	_, _, _, err := Load("")
	require.ErrorContains(t, err, "Options.Dir is empty")
	_, _, _, err = Load(t.TempDir())
	require.ErrorContains(t, err, model.ConfigFile)
}

func TestCheckModel(t *testing.T) {
	cfg, err := model.Preset("nano")
	require.NoError(t, err)
	tok, err := tokenizer.NewChar("abc", []string{tokenizer.EndOfText})
	require.NoError(t, err)
	require.NoError(t, CheckModel(cfg.WithVocab(tok.VocabSize()), tok))
	require.ErrorContains(t, CheckModel(cfg.WithVocab(tok.VocabSize()), nil), "nil tokenizer")
	require.ErrorContains(t, CheckModel(cfg.WithVocab(tok.VocabSize()-1), tok), "but the model's vocab_size is")
	bad := cfg
	bad.VocabSize = 0
	require.ErrorContains(t, CheckModel(bad, tok), "model config")
}

// TestModelFromInitOrDir: Options.Init is used as given, with no state to
// restore even beside a saved checkpoint; Dir is read by Load; both at
// once, or an Init without a tokenizer, are refused.
func TestModelFromInitOrDir(t *testing.T) {
	dir := t.TempDir()
	want := save(t, dir, 3)
	cfg, ws, tok, err := Load(dir)
	require.NoError(t, err)

	gotCfg, gotWs, gotTok, fromDir, err := Model(engine.Options{Dir: dir})
	require.NoError(t, err)
	require.True(t, fromDir)
	require.Equal(t, cfg, gotCfg)
	require.Equal(t, want, gotWs)
	require.Equal(t, tok.VocabSize(), gotTok.VocabSize())

	mem := &engine.Init{Config: cfg, Tokenizer: tok, Weights: ws}
	gotCfg, gotWs, gotTok, fromDir, err = Model(engine.Options{Init: mem})
	require.NoError(t, err)
	require.False(t, fromDir)
	require.Equal(t, cfg, gotCfg)
	require.Equal(t, ws, gotWs)
	require.Same(t, tok, gotTok)
	found, err := ReadState(&engine.Options{Init: mem}, "test", &testState{})
	require.NoError(t, err)
	require.False(t, found, "a model in memory has no optimiser state")

	_, _, _, _, err = Model(engine.Options{Dir: dir, Init: mem})
	require.ErrorContains(t, err, "both Options.Dir")
	_, _, _, _, err = Model(engine.Options{Init: &engine.Init{Config: cfg, Weights: ws}})
	require.ErrorContains(t, err, "no tokenizer")
}
