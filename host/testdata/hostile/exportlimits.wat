;; exportlimits is not hostile: its manifest comes only from the
;; rewind_manifest export (like a Go SDK module) and asks for a 1 MiB
;; memory cap. rewind_verify grows memory by 1 MiB and scores 1 when the
;; growth succeeded, 0 when the cap refused it; so it scores 0 exactly
;; when the host applied the exported manifest's memory_mib.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")   ;; 25 bytes
  (data (i32.const 48) "{\"score\":0,\"status\":\"ok\"}")   ;; 25 bytes
  (data (i32.const 80) "{\"abi\":1,\"kind\":\"verifier\",\"name\":\"exportlimits\",\"version\":\"1\",\"limits\":{\"memory_mib\":1}}") ;; 89 bytes
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "rewind_manifest") (result i64) (call $pack (i32.const 80) (i32.const 89)))
  (func (export "rewind_verify") (param $p i32) (param $n i32) (result i64)
    (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
      (then (return (call $pack (i32.const 48) (i32.const 25)))))
    (call $pack (i32.const 16) (i32.const 25)))
)
