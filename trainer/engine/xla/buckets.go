package xla

// Shape buckets. XLA compiles each new input shape anew (seconds to a
// minute on a GPU for a full training step), so every batch is padded up
// to a bucket: sequence lengths and batch sizes to the next power of two
// (at least minLen / 1), capped at the context length. Padding sits at the
// end of each row and in extra rows; the causal mask keeps real positions
// from seeing it and padded positions carry weight 0.

const minLen = 16

// lenBucket is the padded sequence length for n tokens.
func lenBucket(n, maxPos int) int {
	b := minLen
	for b < n {
		b *= 2
	}
	return min(b, max(maxPos, n))
}

// batchBucket is the padded batch size for n rows.
func batchBucket(n int) int {
	b := 1
	for b < n {
		b *= 2
	}
	return b
}
