package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawFile builds a safetensors file from a literal header and data buffer.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadSafetensorsDtypes(t *testing.T) {
	var data []byte
	// F32 [2]: 1.5, -2
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(1.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-2))
	// BF16 [2]: 1.0 (0x3f80), -0.5 (0xbf00)
	data = binary.LittleEndian.AppendUint16(data, 0x3f80)
	data = binary.LittleEndian.AppendUint16(data, 0xbf00)
	// F16 [4]: 1.0 (0x3c00), -2.5 (0xc100), smallest subnormal (0x0001), +Inf (0x7c00)
	for _, h := range []uint16{0x3c00, 0xc100, 0x0001, 0x7c00} {
		data = binary.LittleEndian.AppendUint16(data, h)
	}
	// F64 [1]: 0.25
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(0.25))
	hdr := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[4],"data_offsets":[12,20]},` +
		`"d":{"dtype":"F64","shape":[],"data_offsets":[20,28]}}`
	p := filepath.Join(t.TempDir(), "x.safetensors")
	require.NoError(t, os.WriteFile(p, rawFile(hdr, data), 0o644))
	ts, meta, err := ReadSafetensors(p)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"format": "pt"}, meta)
	require.Equal(t, []float32{1.5, -2}, ts["a"].Data)
	require.Equal(t, []int{1, 2}, ts["b"].Shape)
	require.Equal(t, []float32{1, -0.5}, ts["b"].Data)
	require.Equal(t, []float32{1, -2.5, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}, ts["c"].Data)
	require.Equal(t, []float32{0.25}, ts["d"].Data)
	require.Equal(t, []int{}, ts["d"].Shape)
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	// Every finite half value must convert exactly: compare with the formula.
	for h := 0; h < 1<<16; h++ {
		exp := (h >> 10) & 0x1f
		man := h & 0x3ff
		if exp == 0x1f {
			continue
		}
		var want float64
		if exp == 0 {
			want = math.Ldexp(float64(man), -24)
		} else {
			want = math.Ldexp(float64(man|0x400), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		got := halfToFloat32(uint16(h))
		require.Equal(t, float32(want), got, "half %#04x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(float64(got)), "sign of %#04x", h)
	}
	require.True(t, math.IsNaN(float64(halfToFloat32(0x7e00))))
}

func TestWriteSafetensorsLayout(t *testing.T) {
	ts := []*Tensor{
		{Name: "z", Shape: []int{1}, Data: []float32{3}},
		{Name: "a", Shape: []int{2, 1}, Data: []float32{1, 2}},
	}
	b, err := encodeSafetensors(ts, map[string]string{"format": "pt"})
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(b)
	require.Zero(t, n%8, "header is padded to 8 bytes")
	hdr := string(bytes.TrimRight(b[8:8+n], " "))
	require.Equal(t, `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, hdr)
	got, _, err := readSafetensors(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Equal(t, []float32{1, 2}, got["a"].Data)
	require.Equal(t, []float32{3}, got["z"].Data)

	_, err = encodeSafetensors([]*Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}, nil)
	require.ErrorContains(t, err, `tensor "a": shape [3] does not match its 1 values`)
	_, err = encodeSafetensors([]*Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil)
	require.ErrorContains(t, err, `tensor "a" appears twice`)
}

func TestReadSafetensorsMalformed(t *testing.T) {
	eight := make([]byte, 8)
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<40)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"huge header length", hugeLen, "exceeds the 100000000-byte limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), '{'), "runs past the end"},
		{"not json", rawFile(`{"a":`, nil), "header is not a JSON object"},
		{"null header", rawFile(`null`, nil), "header is null"},
		{"bad metadata", rawFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__ must map strings to strings"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, eight), `tensor "a": dtype "I64" is not supported`},
		{"wrong size for dtype", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), `tensor "a": F32 shape [3] needs 12 bytes but data_offsets [0 8] hold 8`},
		{"offsets beyond file", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), "data buffer is 8 bytes but the header needs 16 (truncated file?)"},
		{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "trailing bytes"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), `tensor "b": data_offsets [4 8] overlap`},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "leave a gap"},
		{"decreasing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, eight), "not an increasing pair"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, eight), "data_offsets has 3 values"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, eight), "negative or overflowing"},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, eight), "negative or overflowing"},
		{"numel times size overflows", rawFile(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}`, eight), "needs"},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, eight[:4]), `tensor "a": bad header entry`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSafetensors(bytes.NewReader(tc.file), int64(len(tc.file)))
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrMalformed), "%v", err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadSafetensorsNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.safetensors")
	require.NoError(t, os.WriteFile(p, []byte{1, 2}, 0o644))
	_, _, err := ReadSafetensors(p)
	require.ErrorContains(t, err, p)
}

// FuzzReadSafetensors checks that no input makes the reader panic, and that
// whatever it accepts re-encodes (as F32) to a file that reads back equal.
func FuzzReadSafetensors(f *testing.F) {
	good, _ := encodeSafetensors([]*Tensor{
		{Name: "a", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "b", Shape: []int{1, 1}, Data: []float32{3}},
	}, map[string]string{"format": "pt"})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(rawFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 0x3f, 0x80, 0xbf}))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0x3c}))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<62))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, meta, err := readSafetensors(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		list := make([]*Tensor, 0, len(ts))
		for _, x := range ts {
			list = append(list, x)
		}
		out, err := encodeSafetensors(list, meta)
		if err != nil {
			t.Fatalf("accepted file does not re-encode: %v", err)
		}
		back, _, err := readSafetensors(bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatalf("re-encoded file does not read: %v", err)
		}
		for name, x := range ts {
			y := back[name]
			if y == nil || len(y.Data) != len(x.Data) {
				t.Fatalf("tensor %q lost", name)
			}
			for i := range x.Data {
				if math.Float32bits(x.Data[i]) != math.Float32bits(y.Data[i]) {
					t.Fatalf("tensor %q value %d changed", name, i)
				}
			}
		}
	})
}
