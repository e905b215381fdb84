;; features is not hostile: it exercises what the deadline instrumentation
;; (host/internal/wasm/meter.go) must preserve when it renumbers functions:
;; an import before the defined functions, a start function, an active and
;; a declarative element segment, ref.func in a global and in code,
;; call_indirect through the table, and a loop with a block parameter that
;; runs 100,000 iterations (ten checkpoints). rewind_verify answers score 1
;; only when all of them behaved, else score 0.
(module
  (type $ret (func (result i64)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) func $ok $bad)
  (elem declare func $ok)
  (global $started (mut i32) (i32.const 0))
  (global $okref funcref (ref.func $ok))
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")
  (data (i32.const 64) "{\"score\":0,\"status\":\"ok\"}")
  (start $init)
  (func $init (global.set $started (i32.const 1)))
  (func $ok (result i64) (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 25)))
  (func $bad (result i64) (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 25)))
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (func (export "rewind_verify") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $sum i32) (local $good i32)
    (i32.const 0)
    (loop $l (param i32) (result i32)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (i32.add (local.get $i))
      (local.get $i)
      (i32.const 100000)
      (i32.lt_u)
      (br_if $l))
    (local.set $sum)
    (drop (call $yield))
    (local.set $good (i32.and
      (i32.eq (global.get $started) (i32.const 1))
      (i32.eq (local.get $sum) (i32.const 705082704)))) ;; 1+...+100000 mod 2^32
    (local.set $good (i32.and (local.get $good)
      (i32.eqz (ref.is_null (global.get $okref)))))
    (local.set $good (i32.and (local.get $good) (i32.eqz (ref.is_null (ref.func $ok)))))
    (if (result i64) (local.get $good)
      (then (call_indirect (type $ret) (i32.const 0)))
      (else (call_indirect (type $ret) (i32.const 1)))))
)
