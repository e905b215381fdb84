;; trapinner traps in an unnamed inner function (function 3; built
;; without debug names): the host's stack trace must name it $3, the index
;; the author sees, although the deadline instrumentation shifts every
;; function index by one.
(module
  (memory (export "memory") 2)
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (i32.const 1024))
  (func (export "rewind_free") (param i32 i32))
  (func $inner unreachable)
  (func (export "rewind_verify") (param i32 i32) (result i64)
    (call $inner)
    (i64.const 0))
)
