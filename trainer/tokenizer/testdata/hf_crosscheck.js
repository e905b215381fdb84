// Cross-check data made by the Hugging Face tokenizers library (its Node
// binding, which ships the same Rust core as the Python one).
//
// Regenerate from the repository root with:
//   (cd /tmp && npm install tokenizers@0.23.2)
//   NODE_PATH=/tmp/node_modules node trainer/tokenizer/testdata/hf_crosscheck.js \
//     testdata/hf/qwen2-tiny/tokenizer.json > trainer/tokenizer/testdata/hf_ids.json
//
// It encodes hand-written and seeded random probe strings with the
// qwen2-tiny tokenizer and with testdata/char/tokenizer.json (written by
// NewChar: `go test ./trainer/tokenizer -run TestCharFile -update`), with no
// special tokens added, and decodes the ids back with special tokens kept.
const { Tokenizer } = require('tokenizers');
const path = require('path');

const probes = [
  "Hello world", "I'm sure they'LL go, 'twas he'd've SAID 'RE", "x  y\t\tz   ",
  "e\u0301 vs \u00e9 (NFC)", "\u00a0nbsp\u2003em\u3000ideo\u0085nel\u2028ls", "\r\n\r\n  \n\t x",
  "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", "<|im_start|<|im_end|>>", "a<|endoftext|>b",
  "12345 1,234.5e-10 \u00b2\u00b3 \u216b", "\u{1F642}\u{1F642} \u4f60\u597d\u4e16\u754c", "\u017fs 'S '\u017f",
  "\\boxed{42}.</thought>", "", " ", "\n", "''''", "...!!!???\n\n",
];
const pool = [
  "a", "b", "the", "The", " ", " ", "  ", "\t", "\n", "\r\n", "\r", "0", "1", "42", "3.14", "'s", "'LL", "'", "\"",
  ".", ",", "!?", "(", ")", "{", "}", "\\", "+", "=", "-", "*", "/", "\u00e9", "e\u0301", "\u00a0", "\u2003", "\u3000",
  "\u0085", "\u2028", "\u00df", "\u0130", "\u03a9\u03c9", "\u4f60", "\u597d", "\u{1F642}", "\u200d", "\u017f",
  "<|im_end|>", "<|im_start|>", "<|endoftext|>", "</thought>", "<|im_", "step", "answer", "  leading", "trailing  ",
];
let state = 12345;
function rnd(n) { // a 31-bit LCG: reproducible across Node versions
  state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
  return state % n;
}
for (let i = 0; i < 400; i++) {
  let s = "";
  const k = 1 + rnd(24);
  for (let j = 0; j < k; j++) s += pool[rnd(pool.length)];
  probes.push(s);
}
const charProbes = ["<|im_start|>12+3=15</thought>\n<|im_end|><|endoftext|>", "1 x 2", "", "(7*8)-6=50"];
for (let i = 0; i < 100; i++) {
  let s = "";
  const k = 1 + rnd(30);
  const cpool = ["0", "9", "+", "=", " ", "\n", "a", "z", "(", ")", "*", "<|im_end|>", "</thought>", "\u00e9", "?", "<|im"];
  for (let j = 0; j < k; j++) s += cpool[rnd(cpool.length)];
  charProbes.push(s);
}

async function run(name, file, texts) {
  const tok = Tokenizer.fromFile(file);
  const out = [];
  for (const text of texts) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    out.push({ tokenizer: name, text, ids, decoded: await tok.decode(ids, false) });
  }
  return out;
}

(async () => {
  const qwen = await run("qwen2-tiny", process.argv[2], probes);
  const chr = await run("char", path.join(__dirname, "char", "tokenizer.json"), charProbes);
  process.stdout.write("[\n" + qwen.concat(chr).map((e) => JSON.stringify(e)).join(",\n") + "\n]\n");
})();
