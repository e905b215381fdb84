;; dupkeys answers {"score":0,"status":"invalid","score":1,"status":"ok"}:
;; a response with duplicate keys is malformed, whichever key a reader
;; would keep.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (data (i32.const 16) "{\"score\":0,\"status\":\"invalid\",\"score\":1,\"status\":\"ok\"}")
  (func (export "rewind_verify") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 54)))
)
