;; generateok asks for the "generate" capability (generateok.manifest.json)
;; and answers every verify call with whatever rewind.generate returns for
;; the prompt "2+2=".
(module
  (import "rewind" "generate" (func $generate (param i32 i32) (result i64)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 16) "2+2=")
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (func (export "rewind_verify") (param i32 i32) (result i64)
    (call $generate (i32.const 16) (i32.const 4)))
)
