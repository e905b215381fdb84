;; fanout runs 2^62 calls of a loop-free, shallow recursion (each call
;; makes two calls one level down): no loop instruction, no stack
;; overflow, and it never ends on its own. The call must end at its
;; deadline.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")
  (func $tree (param $d i32)
    (if (i32.eqz (local.get $d)) (then return))
    (call $tree (i32.sub (local.get $d) (i32.const 1)))
    (call $tree (i32.sub (local.get $d) (i32.const 1))))
  (func (export "rewind_verify") (param i32 i32) (result i64)
    (call $tree (i32.const 62))
    (i64.const 0))
)
