package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// FuzzRead is the JSONL dataset reader on any bytes: it never panics;
// what it accepts holds only valid examples (non-empty id and prompt, an
// answer, meta absent or an object, lines increasing and within the
// input, ids unique) and writes back with WriteJSONL to the same tasks;
// what it refuses is a list of file:line errors within the input, or a
// file without examples.
//
//	go test -run '^$' -fuzz FuzzRead -fuzztime 60s ./trainer/data
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"id": "a", "prompt": "What is 2+2?", "answer": 4}` + "\n\n" + `{"id": "b", "prompt": "Name it", "answer": {"x": [1, 2]}, "meta": {"level": 3}}` + "\r\n",
		`{"id":"c","prompt":"p</thought>\u00e9","answer":"s","meta":null}`,
		`{"id":"a","prompt":"p","answer":1}` + "\n" + `{"id":"a","prompt":"q","answer":2}`,
		`{"id":"a","prompt":" ","answer":1,"extra":0}`,
		`{"id":1,"prompt":["p"],"answer":null,"meta":[]}`,
		`{"id":"a","prompt":"p","answer":1} {"id":"b"}`,
		`null`,
		"\xff\xfe",
		"\n\n  \n",
		`{"id":"a","prompt":"p","answer":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := bytes.Count(in, []byte("\n")) + 1
		ds, err := Read(bytes.NewReader(in), "f.jsonl")
		if err != nil {
			var list *Errors
			if !errors.As(err, &list) {
				require.ErrorContains(t, err, "no examples")
				return
			}
			require.NotEmpty(t, list.List)
			for _, le := range list.List {
				require.True(t, le.Line >= 1 && le.Line <= lines, "error on line %d of %d", le.Line, lines)
				require.Equal(t, "f.jsonl", le.File)
			}
			return
		}
		require.NotEmpty(t, ds.Examples)
		seen := map[string]bool{}
		prev := 0
		tasks := make([]abi.Task, len(ds.Examples))
		for i, e := range ds.Examples {
			require.NotEmpty(t, e.ID)
			require.NotEmpty(t, e.Prompt)
			require.False(t, seen[e.ID], "duplicate id %q", e.ID)
			seen[e.ID] = true
			require.True(t, e.Line > prev && e.Line <= lines, "line %d after %d of %d", e.Line, prev, lines)
			prev = e.Line
			require.True(t, json.Valid(e.Answer))
			require.NotEqual(t, "null", string(e.Answer))
			if e.Meta != nil {
				var m map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(e.Meta, &m))
			}
			tasks[i] = e.Task()
		}
		var out bytes.Buffer
		require.NoError(t, WriteJSONL(&out, len(tasks), func(i int) (any, error) { return tasks[i], nil }))
		back, err := Read(&out, "back.jsonl")
		require.NoError(t, err, "written back:\n%s", out.String())
		require.Len(t, back.Examples, len(tasks))
		for i, e := range back.Examples {
			require.Equal(t, tasks[i].ID, e.ID)
			require.Equal(t, tasks[i].Prompt, e.Prompt)
			require.Equal(t, compact(t, tasks[i].Answer), compact(t, e.Answer))
			require.Equal(t, compact(t, tasks[i].Meta), compact(t, e.Meta))
		}
	})
}

func compact(t *testing.T, raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, raw))
	return b.String()
}

// ReadFile records the sha256 of the file's bytes, which a resumed run
// compares with its checkpoint's.
func TestReadFileSHA256(t *testing.T) {
	raw := []byte(`{"id":"a","prompt":"p","answer":1}` + "\n")
	path := filepath.Join(t.TempDir(), "d.jsonl")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	ds, err := ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	require.Equal(t, hex.EncodeToString(sum[:]), ds.SHA256)
}
