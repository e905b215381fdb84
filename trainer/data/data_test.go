package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/stretchr/testify/require"
)

func TestReadValid(t *testing.T) {
	in := `{"id": "a", "prompt": "What is 2+2?", "answer": 4}

{"id": "b", "prompt": "Name it", "answer": {"x": [1, 2]}, "meta": {"level": 3}}` + "\r\n" +
		`   {"id":"c","prompt":"p","answer":"s","meta":null}`
	ds, err := Read(strings.NewReader(in), "train.jsonl")
	require.NoError(t, err)
	require.Equal(t, 3, ds.Len())
	require.Equal(t, Example{ID: "a", Prompt: "What is 2+2?", Answer: json.RawMessage(`4`), Line: 1}, ds.Examples[0])
	require.Equal(t, 3, ds.Examples[1].Line)
	require.Equal(t, abi.Task{ID: "b", Prompt: "Name it", Answer: json.RawMessage(`{"x": [1, 2]}`), Meta: json.RawMessage(`{"level": 3}`)}, ds.Examples[1].Task())
	require.Nil(t, ds.Examples[2].Meta)
	require.Equal(t, 4, ds.Examples[2].Line)
}

// TestWriteJSONLReadsBack writes tasks (a prompt with "</thought>", which
// must not be HTML-escaped) and reads them back as the same tasks.
func TestWriteJSONLReadsBack(t *testing.T) {
	ts := []abi.Task{
		{ID: "a", Prompt: "1+1=</thought>", Answer: json.RawMessage(`"2"`)},
		{ID: "b", Prompt: "x & y", Answer: json.RawMessage(`3`), Meta: json.RawMessage(`{"d":1}`)},
	}
	var b strings.Builder
	require.NoError(t, WriteJSONL(&b, len(ts), func(i int) (any, error) { return ts[i], nil }))
	require.Contains(t, b.String(), "</thought>")
	ds, err := Read(strings.NewReader(b.String()), "w.jsonl")
	require.NoError(t, err)
	for i, e := range ds.Examples {
		require.Equal(t, ts[i], e.Task())
	}
}

func TestReadErrors(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "a", "prompt": "p", "answer": 1}`,
		`{"prompt": "p", "answer": 1}`,
		`{"id": 7, "prompt": "", "answer": null}`,
		`not json`,
		`[1, 2]`,
		`{"id": "a", "prompt": "p", "answer": 1}`,
		`{"id": "d", "prompt": "p", "answer": 1, "meta": [1], "promt": "x"}`,
		`{"id": "e", "prompt": "p", "answer": 1} {"id": "f"}`,
		"{\"id\": \"g\xff\", \"prompt\": \"p\", \"answer\": 1}",
		`{"id": "ok", "prompt": "p", "answer": false}`,
	}, "\n")
	_, err := Read(strings.NewReader(in), "data/train.jsonl")
	var errs *Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		`data/train.jsonl:2: field "id": missing`,
		`data/train.jsonl:3: field "id": must be a string, got a number`,
		`data/train.jsonl:3: field "prompt": empty`,
		`data/train.jsonl:3: field "answer": missing; give the ground truth that the verifier expects`,
		`data/train.jsonl:4: not a JSON object: invalid character 'o' in literal null (expecting 'u')`,
		`data/train.jsonl:5: not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage`,
		`data/train.jsonl:6: field "id": duplicate "a" (first on line 1); ids must be unique`,
		`data/train.jsonl:7: field "promt": unknown (allowed: id, prompt, answer, meta; put extra data in meta)`,
		`data/train.jsonl:7: field "meta": must be an object, got an array`,
		`data/train.jsonl:8: more than one JSON value on the line; write one object per line`,
		`data/train.jsonl:9: not valid UTF-8`,
	}, got)
	require.Zero(t, errs.Omitted)
}

func TestReadErrorCap(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxErrors+5; i++ {
		fmt.Fprintf(&b, "{\"id\": \"x%d\"}\n", i)
	}
	_, err := Read(strings.NewReader(b.String()), "f.jsonl")
	var errs *Errors
	require.True(t, errors.As(err, &errs))
	require.Len(t, errs.List, MaxErrors)
	// Two bad fields per line: 2*(MaxErrors+5) problems in all.
	require.Equal(t, 2*(MaxErrors+5)-MaxErrors, errs.Omitted)
	require.True(t, strings.HasSuffix(err.Error(), fmt.Sprintf("... and %d more errors", errs.Omitted)))
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("\n  \n"), 0o644))
	_, err := ReadFile(p)
	require.ErrorContains(t, err, p+": no examples")
	_, err = ReadFile(filepath.Join(dir, "missing.jsonl"))
	require.ErrorContains(t, err, "missing.jsonl: no such file")

	// A line longer than bufio's buffer, without a final newline.
	long := strings.Repeat("x", 200<<10)
	p = filepath.Join(dir, "long.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(`{"id":"l","prompt":"`+long+`","answer":1}`), 0o644))
	ds, err := ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, long, ds.Examples[0].Prompt)
}

func TestSamplerEpochs(t *testing.T) {
	s := NewSampler(5, 42)
	var first []int
	for i := 0; i < 5; i++ {
		first = append(first, s.Next(1)...)
	}
	sorted := append([]int(nil), first...)
	sort.Ints(sorted)
	require.Equal(t, []int{0, 1, 2, 3, 4}, sorted, "an epoch visits each index once")
	require.Equal(t, 0, s.Epoch)
	require.Equal(t, 5, s.Pos)

	second := s.Next(5)
	require.Equal(t, 1, s.Epoch)
	require.NotEqual(t, first, second, "each epoch has its own permutation")
	require.Equal(t, Permutation(5, 42, 0), first)
	require.Equal(t, Permutation(5, 42, 1), second)

	// A batch crossing an epoch boundary.
	s = NewSampler(3, 1)
	b := s.Next(4)
	require.Equal(t, append(Permutation(3, 1, 0), Permutation(3, 1, 1)[0]), b)
	require.Equal(t, Sampler{Seed: 1, N: 3, Epoch: 1, Pos: 1}, Sampler{Seed: s.Seed, N: s.N, Epoch: s.Epoch, Pos: s.Pos})
}

// TestSamplerResume checks that a sampler saved as JSON and restored draws
// exactly what the uninterrupted one draws.
func TestSamplerResume(t *testing.T) {
	for _, cut := range []int{0, 1, 6, 7, 13, 20} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			ref := NewSampler(7, 9)
			want := ref.Next(30)

			s := NewSampler(7, 9)
			got := s.Next(cut)
			b, err := json.Marshal(s)
			require.NoError(t, err)
			var back Sampler
			require.NoError(t, json.Unmarshal(b, &back))
			require.NoError(t, back.Validate(7))
			got = append(got, back.Next(30-cut)...)
			require.Equal(t, want, got)
		})
	}
}

func TestSamplerValidate(t *testing.T) {
	s := Sampler{N: 4, Epoch: -1, Pos: 9}
	err := s.Validate(5)
	require.ErrorContains(t, err, "saved for a dataset of 4 examples but this one has 5")
	require.ErrorContains(t, err, "epoch = -1")
	require.ErrorContains(t, err, "pos = 9")
}

// TestPermutationPinned pins the order so a change of generator, which
// would silently change every run's data order, fails here.
func TestPermutationPinned(t *testing.T) {
	require.Equal(t, []int{8, 0, 1, 6, 7, 5, 3, 2, 4, 9}, Permutation(10, 0, 0))
	// Rough uniformity: each index lands in position 0 about equally often.
	counts := make([]int, 4)
	for seed := uint64(0); seed < 4000; seed++ {
		counts[Permutation(4, seed, 0)[0]]++
	}
	for _, c := range counts {
		require.InDelta(t, 1000, c, 120)
	}
}

// TestPCGMatchesMathRand checks the generator against math/rand/v2's PCG,
// which implements the same published algorithm.
func TestPCGMatchesMathRand(t *testing.T) {
	for _, seed := range [][2]uint64{{0, 0}, {1, 2}, {0xdeadbeef, 1 << 63}} {
		ours := &pcg{hi: seed[0], lo: seed[1]}
		ref := rand.New(rand.NewPCG(seed[0], seed[1]))
		for i := 0; i < 100; i++ {
			require.Equal(t, ref.Uint64(), ours.next())
		}
	}
}

func TestBatch(t *testing.T) {
	ds := &Dataset{Examples: []Example{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	s := NewSampler(3, 5)
	p := Permutation(3, 5, 0)
	b := ds.Batch(s, 2)
	require.Equal(t, []string{ds.Examples[p[0]].ID, ds.Examples[p[1]].ID}, []string{b[0].ID, b[1].ID})
}

func TestTemplate(t *testing.T) {
	for _, tc := range []struct {
		name string
		tpl  Template
		want string
	}{
		{"plain", Template{Kind: TemplatePlain}, "What is 7*8?"},
		{"plain format", Template{Kind: TemplatePlain, Format: "Q: {prompt}\nA:", AssistantPrefix: " "}, "Q: What is 7*8?\nA: "},
		{"chat", Template{Kind: TemplateChat}, "<|im_start|>user\nWhat is 7*8?<|im_end|>\n<|im_start|>assistant\n"},
		{"chat system", Template{Kind: TemplateChat, System: "Think step by step.", AssistantPrefix: "<thought>"},
			"<|im_start|>system\nThink step by step.<|im_end|>\n<|im_start|>user\nWhat is 7*8?<|im_end|>\n<|im_start|>assistant\n<thought>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.tpl.Validate())
			require.Equal(t, tc.want, tc.tpl.Render("What is 7*8?"))
		})
	}
	err := Template{}.Validate()
	require.ErrorContains(t, err, "template.kind: missing")
	err = Template{Kind: TemplatePlain, System: "x", Format: "no placeholder"}.Validate()
	require.ErrorContains(t, err, "template.system")
	require.ErrorContains(t, err, "template.format: must contain {prompt} exactly once")
	require.ErrorContains(t, Template{Kind: "llama"}.Validate(), `template.kind: "llama"`)
}
