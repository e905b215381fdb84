package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Example is one line of a dataset:
//
//	{"id": "gsm8k-17", "prompt": "...", "answer": <any JSON>, "meta": {...}}
//
// id and prompt are non-empty strings, answer is any JSON value but null
// (only the verifier interprets it), meta is an optional object.
type Example struct {
	ID     string
	Prompt string
	Answer json.RawMessage
	Meta   json.RawMessage // nil when absent
	Line   int             // 1-based line number in the file
}

// Task converts the example to the message verifiers receive.
func (e Example) Task() abi.Task {
	return abi.Task{ID: e.ID, Prompt: e.Prompt, Answer: e.Answer, Meta: e.Meta}
}

// Dataset is a validated list of examples in file order.
type Dataset struct {
	Name     string // the file it came from, as given
	Examples []Example
	// SHA256 is the hex sha256 of the file's bytes (set by ReadFile; ""
	// from Read): a resumed run checks it is training on the same data.
	SHA256 string
}

// Len is the number of examples.
func (d *Dataset) Len() int { return len(d.Examples) }

// LineError is one problem in a dataset file.
type LineError struct {
	File  string
	Line  int
	Field string // empty when the line as a whole is bad
	Msg   string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: field %q: %s", e.File, e.Line, e.Field, e.Msg)
}

// Errors is every problem found in a file, in line order, up to MaxErrors;
// Omitted counts the ones left out.
type Errors struct {
	List    []*LineError
	Omitted int
}

func (e *Errors) Error() string {
	var b strings.Builder
	for i, le := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(le.Error())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n... and %d more errors", e.Omitted)
	}
	return b.String()
}

// MaxErrors caps how many problems one read reports.
const MaxErrors = 20

// maxLine bounds one line, so a file without newlines cannot exhaust memory.
const maxLine = 64 << 20

// ReadFile reads and validates a JSONL dataset. On any bad line it returns
// an *Errors listing the bad lines (file:line: field "x": problem).
func ReadFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	ds, err := Read(io.TeeReader(f, h), path)
	if err != nil {
		return nil, err
	}
	// Read stops at the first error only; on success it read the whole
	// file, so the hash is the file's.
	ds.SHA256 = hex.EncodeToString(h.Sum(nil))
	return ds, nil
}

// Read is ReadFile on a reader; name is used in error messages.
func Read(r io.Reader, name string) (*Dataset, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	ds := &Dataset{Name: name}
	errs := &Errors{}
	report := func(line int, field, format string, args ...any) {
		if len(errs.List) >= MaxErrors {
			errs.Omitted++
			return
		}
		errs.List = append(errs.List, &LineError{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	firstLine := map[string]int{}
	var buf []byte
	for line := 1; ; line++ {
		chunk, err := readLine(br, buf[:0])
		buf = chunk
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLineTooLong) {
				report(line, "", "line longer than %d bytes", maxLine)
				break
			}
			return nil, fmt.Errorf("read dataset %s: %w", name, err)
		}
		if trimmed := bytes.TrimSpace(chunk); len(trimmed) > 0 {
			if ex, ok := parseLine(trimmed, line, report); ok {
				if first, dup := firstLine[ex.ID]; dup {
					report(line, "id", "duplicate %q (first on line %d); ids must be unique", ex.ID, first)
				} else {
					firstLine[ex.ID] = line
					ds.Examples = append(ds.Examples, ex)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(errs.List) > 0 {
		return nil, errs
	}
	if len(ds.Examples) == 0 {
		return nil, fmt.Errorf("dataset %s: no examples (every line is blank)", name)
	}
	return ds, nil
}

var errLineTooLong = errors.New("line too long")

// readLine appends one line (without its '\n') to buf. It returns io.EOF
// with the last line when the input ends.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > maxLine {
			return buf, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil {
			return buf[:len(buf)-1], nil
		}
		return buf, err
	}
}

var knownFields = []string{"id", "prompt", "answer", "meta"}

// parseLine validates one non-blank line; it reports every bad field.
func parseLine(b []byte, line int, report func(line int, field, format string, args ...any)) (Example, bool) {
	if !utf8.Valid(b) {
		report(line, "", "not valid UTF-8")
		return Example{}, false
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		report(line, "", "not a JSON object: %v", err)
		return Example{}, false
	}
	if dec.More() {
		report(line, "", "more than one JSON value on the line; write one object per line")
		return Example{}, false
	}
	ok := true
	var unknown []string
	for k := range obj {
		if !contains(knownFields, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		report(line, k, "unknown (allowed: id, prompt, answer, meta; put extra data in meta)")
		ok = false
	}
	str := func(field string) string {
		raw, present := obj[field]
		if !present || isNull(raw) {
			report(line, field, "missing")
			ok = false
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			report(line, field, "must be a string, got %s", kind(raw))
			ok = false
			return ""
		}
		if strings.TrimSpace(s) == "" {
			report(line, field, "empty")
			ok = false
		}
		return s
	}
	ex := Example{Line: line}
	ex.ID = str("id")
	ex.Prompt = str("prompt")
	if raw, present := obj["answer"]; !present || isNull(raw) {
		report(line, "answer", "missing; give the ground truth that the verifier expects")
		ok = false
	} else {
		ex.Answer = append(json.RawMessage(nil), raw...)
	}
	if raw, present := obj["meta"]; present && !isNull(raw) {
		if bytes.TrimSpace(raw)[0] != '{' {
			report(line, "meta", "must be an object, got %s", kind(raw))
			ok = false
		} else {
			ex.Meta = append(json.RawMessage(nil), raw...)
		}
	}
	return ex, ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// kind names the JSON type of a raw value for error messages.
func kind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
