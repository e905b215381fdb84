// surprise: a Rewind localizer in AssemblyScript (Wasm, ABI v1: see
// sdk/ABI.md). It resets at the step holding the least likely token the
// policy sampled: the step of lowest min_logprob in the request's
// step_stats (the earliest of equal ones; steps with no token of their own
// are skipped). A request without step_stats gets the last step, with
// fallback "last-step". Replace localize() with your strategy.
import { Buf } from "./buf";
import { Request, parseRequest } from "./json";

export function rewind_abi_version(): i32 {
  return 1;
}

// heap.alloc memory is not moved or collected until rewind_free.
export function rewind_alloc(size: i32): i32 {
  if (size < 0) return 0;
  const n: usize = size > 0 ? <usize>size : 1;
  return <i32>heap.alloc(n);
}

export function rewind_free(ptr: i32, size: i32): void {
  heap.free(<usize>ptr);
}

// Reused across calls; out is a global, so the response stays alive until
// the next call, as the ABI requires.
const req = new Request();
const out = new Buf();

function putString(s: string): void {
  out.putJSONString(Uint8Array.wrap(String.UTF8.encode(s)));
}

function answer(step: i32, fallback: string | null, detail: string): void {
  out.putAscii('{"step":');
  out.putAscii(step.toString());
  if (fallback != null) {
    out.putAscii(',"fallback":');
    putString(fallback);
  }
  out.putAscii(',"detail":');
  putString(detail);
  out.putByte(0x7d);
}

// localize writes the localization JSON into out: a step in 1..nsteps, or
// 0 for "no erroneous step".
function localize(): void {
  const n = req.nsteps;
  if (!req.hasStats || req.stats.length != n) {
    answer(n, "last-step", "no step_stats");
    return;
  }
  let best = 0;
  for (let k = 0; k < n; k++) {
    const st = req.stats[k];
    if (st.tokens > 0 && (best == 0 || st.minLogprob < req.stats[best - 1].minLogprob)) best = k + 1;
  }
  if (best == 0) {
    answer(n, "last-step", "no step has a token");
    return;
  }
  answer(best, null, "min_logprob " + req.stats[best - 1].minLogprob.toString());
}

export function rewind_localize(ptr: i32, len: i32): i64 {
  out.reset();
  let err = parseRequest(<usize>ptr, len, req);
  if (err == null && req.nsteps == 0) err = "the request has no steps";
  if (err != null) {
    out.putAscii('{"error":');
    putString(err);
    out.putByte(0x7d);
  } else {
    localize();
  }
  return (<i64>out.data.dataStart << 32) | <i64>out.len;
}
