package tokenizer_test

import (
	"fmt"

	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

func ExampleNewChar() {
	tk, err := tokenizer.NewChar("0123456789+=", []string{tokenizer.EndOfText, tokenizer.EndThought})
	if err != nil {
		panic(err)
	}
	ids := tk.Encode("12+3=15</thought>")
	fmt.Println(ids, tk.VocabSize(), tk.EOS())
	fmt.Println(tk.Decode(ids))
	// Output:
	// [3 4 12 5 13 3 7 1] 14 0
	// 12+3=15</thought>
}
