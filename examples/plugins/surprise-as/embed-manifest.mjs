// Appends manifest.json to a Wasm module as the custom section
// "rewind.manifest" (sdk/ABI.md, section 3):
//   node embed-manifest.mjs IN.wasm OUT.wasm
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
const wasm = readFileSync(input);
const manifest = readFileSync(new URL("manifest.json", import.meta.url));
JSON.parse(manifest); // refuse to embed a broken manifest

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return Buffer.from(out);
}

const name = Buffer.from("rewind.manifest");
const body = Buffer.concat([uleb(name.length), name, manifest.subarray(0, manifest.length)]);
const section = Buffer.concat([Buffer.from([0]), uleb(body.length), body]);
writeFileSync(output, Buffer.concat([wasm, section]));
