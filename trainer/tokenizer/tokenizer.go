package tokenizer

// Tokenizer is safe for concurrent use.
type Tokenizer interface {
	// Encode returns the ids of text. Special and added tokens written in
	// the text are matched as such; no BOS/EOS is added.
	Encode(text string) []int
	// Decode returns the text of ids. Special tokens are included.
	// Byte-level tokens that do not form complete UTF-8 are decoded as
	// U+FFFD, as Hugging Face does.
	Decode(ids []int) string
	// TokenBytes returns the raw bytes that one token stands for (for a
	// byte-level BPE token, the bytes before UTF-8 assembly). Samplers use
	// it to detect stop strings incrementally.
	TokenBytes(id int) []byte
	// VocabSize is one more than the largest id.
	VocabSize() int
	// TokenID returns the id of a special or added token, such as
	// "<|endoftext|>".
	TokenID(token string) (int, bool)
	// EOS is the end-of-sequence id, or -1 when there is none.
	EOS() int
}
