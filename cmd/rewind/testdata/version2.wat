;; A verifier that declares ABI version 2: the host must refuse it at load.
;; Build: wat2wasm version2.wat -o version2.wasm
(module
  (memory (export "memory") 1)
  (func (export "rewind_abi_version") (result i32) (i32.const 2))
  (func (export "rewind_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "rewind_free") (param i32 i32))
  (func (export "rewind_verify") (param i32 i32) (result i64) (i64.const 0)))
