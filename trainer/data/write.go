package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSONL writes n JSON lines, line(i) for each, without HTML escaping
// (steps contain "</thought>", which would otherwise become
// \u003c/thought\u003e). A dataset written from abi.Task values reads back
// with Read.
func WriteJSONL(w io.Writer, n int, line func(i int) (any, error)) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range n {
		v, err := line(i)
		if err != nil {
			return err
		}
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return bw.Flush()
}
