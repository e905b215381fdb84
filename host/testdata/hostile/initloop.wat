;; initloop loops forever in its exported _initialize: the load must fail
;; with status timeout, every time, naming _initialize.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")
  (func (export "rewind_verify") (param i32 i32) (result i64) (i64.const 0))
  (func (export "_initialize") (loop $l (br $l)))
)
