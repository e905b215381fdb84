package data_test

import (
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/trainer/data"
)

func ExampleTemplate_Render() {
	tpl := data.Template{Kind: data.TemplateChat, Format: "Solve: {prompt}"}
	if err := tpl.Validate(); err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", tpl.Render("7*8"))
	// Output:
	// "<|im_start|>user\nSolve: 7*8<|im_end|>\n<|im_start|>assistant\n"
}

func ExampleRead() {
	in := `{"id": "a", "prompt": "2+2", "answer": 4}
{"id": "a", "answer": 5}`
	_, err := data.Read(strings.NewReader(in), "train.jsonl")
	fmt.Println(err)
	// Output:
	// train.jsonl:2: field "prompt": missing
}
