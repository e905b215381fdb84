;; growtouch grows its memory 1 MiB at a time, writes one byte into every
;; new 4 KiB page (so the host must really back it), and loops forever
;; once the cap refuses a grow: the host's memory for it is the cap, and
;; the call ends at its deadline.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")
  (func (export "rewind_verify") (param i32 i32) (result i64) (local $old i32) (local $a i32) (local $end i32)
    (loop $l
      (local.set $old (memory.grow (i32.const 16)))
      (if (i32.ne (local.get $old) (i32.const -1))
        (then
          (local.set $a (i32.shl (local.get $old) (i32.const 16)))
          (local.set $end (i32.add (local.get $a) (i32.const 0x100000)))
          (loop $touch
            (i32.store8 (local.get $a) (i32.const 1))
            (local.set $a (i32.add (local.get $a) (i32.const 0x1000)))
            (br_if $touch (i32.lt_u (local.get $a) (local.get $end))))))
      (br $l))
    (i64.const 0))
)
