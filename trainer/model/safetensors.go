package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/rewind-rl/rewind/internal/atomicfile"
)

// Tensor is a named float32 array in row-major order.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// ErrMalformed is wrapped by every error about a safetensors file whose
// bytes break the format (as opposed to I/O errors).
var ErrMalformed = errors.New("malformed safetensors file")

// maxHeader bounds the JSON header, as the reference implementation does
// (100 MB), so that a corrupt length cannot make us allocate gigabytes.
const maxHeader = 100_000_000

type tensorInfo struct {
	Dtype       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func dtypeSize(d string) int {
	switch d {
	case "F32":
		return 4
	case "BF16", "F16":
		return 2
	case "F64":
		return 8
	}
	return 0
}

// ReadSafetensors reads every tensor of a safetensors file, converting F32,
// F64, BF16 and F16 to float32, and returns the "__metadata__" map (nil when
// absent). The header is validated as the reference implementation does:
// offsets must tile the data buffer exactly, in order, without gaps or
// overlaps, and each tensor's byte size must match its dtype and shape.
func ReadSafetensors(path string) (map[string]*Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read safetensors: %w", err)
	}
	ts, meta, err := readSafetensors(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return ts, meta, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parsedHeader is a validated header: tensors sorted by offset.
type parsedHeader struct {
	names []string
	infos []tensorInfo
	meta  map[string]string
	start int64 // file offset of the data buffer
}

func parseHeader(r io.ReaderAt, size int64) (*parsedHeader, error) {
	if size < 8 {
		return nil, malformed("file is %d bytes, shorter than the 8-byte header length (truncated?)", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > maxHeader {
		return nil, malformed("header length %d exceeds the %d-byte limit", n, maxHeader)
	}
	if int64(n) > size-8 {
		return nil, malformed("header length %d runs past the end of the %d-byte file (truncated?)", n, size)
	}
	hb := make([]byte, n)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hb))
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("header is not a JSON object: %v", err)
	}
	if raw == nil {
		return nil, malformed("header is null, want a JSON object")
	}
	h := &parsedHeader{start: 8 + int64(n)}
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &h.meta); err != nil {
				return nil, malformed("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var ti tensorInfo
		d := json.NewDecoder(bytes.NewReader(v))
		d.DisallowUnknownFields()
		if err := d.Decode(&ti); err != nil {
			return nil, malformed("tensor %q: bad header entry: %v", name, err)
		}
		h.names = append(h.names, name)
		h.infos = append(h.infos, ti)
	}
	idx := make([]int, len(h.names))
	for i := range idx {
		idx[i] = i
	}
	for i, ti := range h.infos {
		name := h.names[i]
		if len(ti.DataOffsets) != 2 {
			return nil, malformed("tensor %q: data_offsets has %d values, want 2", name, len(ti.DataOffsets))
		}
		if ti.DataOffsets[0] < 0 || ti.DataOffsets[1] < ti.DataOffsets[0] {
			return nil, malformed("tensor %q: data_offsets %v are not an increasing pair", name, ti.DataOffsets)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		ia, ib := h.infos[idx[a]], h.infos[idx[b]]
		if ia.DataOffsets[0] != ib.DataOffsets[0] {
			return ia.DataOffsets[0] < ib.DataOffsets[0]
		}
		return h.names[idx[a]] < h.names[idx[b]]
	})
	names := make([]string, len(idx))
	infos := make([]tensorInfo, len(idx))
	var end int64
	for k, i := range idx {
		name, ti := h.names[i], h.infos[i]
		names[k], infos[k] = name, ti
		es := dtypeSize(ti.Dtype)
		if es == 0 {
			return nil, malformed("tensor %q: dtype %q is not supported (want F32, F64, BF16 or F16)", name, ti.Dtype)
		}
		numel, ok := checkedNumel(ti.Shape)
		if !ok {
			return nil, malformed("tensor %q: shape %v has a negative or overflowing dimension", name, ti.Shape)
		}
		if ti.DataOffsets[0] != end {
			if ti.DataOffsets[0] < end {
				return nil, malformed("tensor %q: data_offsets %v overlap the previous tensor (ends at %d)", name, ti.DataOffsets, end)
			}
			return nil, malformed("tensor %q: data_offsets %v leave a gap after byte %d", name, ti.DataOffsets, end)
		}
		nbytes := ti.DataOffsets[1] - ti.DataOffsets[0]
		if numel > math.MaxInt64/int64(es) || numel*int64(es) != nbytes {
			return nil, malformed("tensor %q: %s shape %v needs %d bytes but data_offsets %v hold %d", name, ti.Dtype, ti.Shape, numel*int64(es), ti.DataOffsets, nbytes)
		}
		end = ti.DataOffsets[1]
	}
	h.names, h.infos = names, infos
	if got := size - h.start; got != end {
		if got < end {
			return nil, malformed("data buffer is %d bytes but the header needs %d (truncated file?)", got, end)
		}
		return nil, malformed("data buffer is %d bytes but the header describes only %d (trailing bytes)", got, end)
	}
	return h, nil
}

func checkedNumel(shape []int) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt64/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

func readSafetensors(r io.ReaderAt, size int64) (map[string]*Tensor, map[string]string, error) {
	h, err := parseHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	ts := make(map[string]*Tensor, len(h.names))
	var buf []byte
	for i, name := range h.names {
		ti := h.infos[i]
		nbytes := ti.DataOffsets[1] - ti.DataOffsets[0]
		if int64(cap(buf)) < nbytes {
			buf = make([]byte, nbytes)
		}
		b := buf[:nbytes]
		if _, err := r.ReadAt(b, h.start+ti.DataOffsets[0]); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		ts[name] = &Tensor{Name: name, Shape: append([]int{}, ti.Shape...), Data: decode(ti.Dtype, b)}
	}
	return ts, h.meta, nil
}

func decode(dtype string, b []byte) []float32 {
	var out []float32
	switch dtype {
	case "F32":
		out = make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F64":
		out = make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "BF16":
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F16":
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = man * 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// WriteSafetensors writes ts as F32 with the given metadata. Tensors are
// laid out sorted by name, as the reference implementation does for tensors
// of one dtype; the header is space-padded to a multiple of 8 bytes. The
// file is written atomically: a temporary file in the same directory is
// synced and renamed over path, so a crash never leaves a partial file.
func WriteSafetensors(path string, ts []*Tensor, meta map[string]string) error {
	b, err := encodeSafetensors(ts, meta)
	if err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b)
}

func encodeSafetensors(ts []*Tensor, meta map[string]string) ([]byte, error) {
	sorted := append([]*Tensor{}, ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(meta) > 0 {
		mb, err := json.Marshal(meta) // encoding/json sorts map keys
		if err != nil {
			return nil, err
		}
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(mb)
	}
	var off int64
	for i, t := range sorted {
		if t.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor name %q is reserved", t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		n, ok := checkedNumel(t.Shape)
		if !ok || n != int64(len(t.Data)) {
			return nil, fmt.Errorf("tensor %q: shape %v does not match its %d values", t.Name, t.Shape, len(t.Data))
		}
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		nb, _ := json.Marshal(t.Name)
		hdr.Write(nb)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sb, _ := json.Marshal(shape)
		fmt.Fprintf(&hdr, `:{"dtype":"F32","shape":%s,"data_offsets":[%s,%s]}`, sb,
			strconv.FormatInt(off, 10), strconv.FormatInt(off+4*n, 10))
		off += 4 * n
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+int64(hdr.Len())+off)
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, t := range sorted {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}
