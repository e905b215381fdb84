// The boxed verifier as an AssemblyScript module implementing Rewind ABI
// v1 (sdk/ABI.md). The module imports nothing: aborts trap (see
// asconfig.json) and no WASI call is needed.
import { Buf, ascii } from "./buf";
import { Kind, Request, parseRequest } from "./json";
import { equal, extract, trimSpace } from "./boxed";

export function rewind_abi_version(): i32 {
  return 1;
}

// rewind_alloc returns a block the host writes requests into. heap.alloc
// memory is not managed by the garbage collector: it stays where it is
// until rewind_free, as the ABI requires.
export function rewind_alloc(size: i32): i32 {
  if (size < 0) return 0;
  const n: usize = size > 0 ? <usize>size : 1;
  return <i32>heap.alloc(n);
}

export function rewind_free(ptr: i32, size: i32): void {
  heap.free(<usize>ptr);
}

// The request and the response buffer are reused across calls. out is a
// global, so the collector keeps the response alive until the next call,
// which is how long the ABI asks it to stay valid.
const req = new Request();
const out = new Buf();

function pack(b: Buf): i64 {
  return (<i64>b.data.dataStart << 32) | <i64>b.len;
}

function fail(msg: string): i64 {
  out.reset();
  out.putAscii('{"error":');
  out.putJSONString(Uint8Array.wrap(String.UTF8.encode(msg)));
  out.putByte(0x7d);
  return pack(out);
}

const NO_BOXED = ascii("no \\boxed{} answer");
const BAD_TRUTH = ascii("ground truth must be a JSON string or number");

export function rewind_verify(ptr: i32, len: i32): i64 {
  const err = parseRequest(<usize>ptr, len, req);
  if (err != null) return fail(err);
  if (!req.hasResponse) return fail("request has no response");

  out.reset();
  // GroundTruth: a JSON string that is not all white space, or a number.
  const want = req.answer.bytes();
  if ((req.answerKind != Kind.String && req.answerKind != Kind.Number) || trimSpace(want).length == 0) {
    out.putAscii('{"score":0,"status":"invalid","detail":');
    out.putJSONString(BAD_TRUTH);
  } else {
    const got = extract(req.response.bytes());
    if (got == null) {
      out.putAscii('{"score":0,"status":"ok","detail":');
      out.putJSONString(NO_BOXED);
    } else {
      out.putAscii(equal(got, want) ? '{"score":1' : '{"score":0');
      out.putAscii(',"status":"ok","detail":');
      const d = new Buf();
      d.putAscii("answer ");
      d.putBytes(got);
      out.putJSONString(d.bytes());
    }
  }
  out.putByte(0x7d);
  return pack(out);
}
