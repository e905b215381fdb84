;; moody fails according to its request, so one plugin can show every
;; failure mode followed by a successful call. The markers are looked up in
;; the raw request JSON (the response text carries them):
;;   TRAP -> unreachable          LOOP -> loops forever
;;   HUGE -> claims 4 GiB         BADJSON -> {"score":
;;   GROW -> grows memory until refused, then traps
;;   NOSTATUS -> {"score":1} (no status: malformed, fail closed)
;;   anything else -> {"score":1,"status":"ok"}
;; rewind_init accepts only options containing "greeting":"hello" and the
;; configured name "moody", so a test can see that both arrive.
(module
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 16) "{\"score\":1,\"status\":\"ok\"}")   ;; 25 bytes
  (data (i32.const 64) "{\"score\":")                       ;; 9 bytes
  (data (i32.const 80) "TRAP")
  (data (i32.const 84) "LOOP")
  (data (i32.const 88) "HUGE")
  (data (i32.const 92) "BADJSON")
  (data (i32.const 100) "GROW")
  (data (i32.const 128) "\"greeting\":\"hello\"")          ;; 18 bytes
  (data (i32.const 160) "\"name\":\"moody\"")              ;; 14 bytes
  (data (i32.const 192) "{}")
  (data (i32.const 200) "{\"error\":\"say hello\"}")       ;; 21 bytes
  (data (i32.const 224) "NOSTATUS")
  (data (i32.const 240) "{\"score\":1}")                  ;; 11 bytes
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (func (export "rewind_free") (param i32 i32))
  ;; $has reports whether [p, p+n) contains the m bytes at q.
  (func $has (param $p i32) (param $n i32) (param $q i32) (param $m i32) (result i32)
    (local $i i32) (local $j i32)
    (block $no
      (loop $outer
        (br_if $no (i32.gt_s (i32.add (local.get $i) (local.get $m)) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (br_if $mismatch (i32.ne
              (i32.load8_u (i32.add (local.get $p) (i32.add (local.get $i) (local.get $j))))
              (i32.load8_u (i32.add (local.get $q) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (if (i32.eq (local.get $j) (local.get $m)) (then (return (i32.const 1))))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const 0))
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "rewind_init") (param $p i32) (param $n i32) (result i64)
    (if (i32.and (call $has (local.get $p) (local.get $n) (i32.const 128) (i32.const 18))
                 (call $has (local.get $p) (local.get $n) (i32.const 160) (i32.const 14)))
      (then (return (call $pack (i32.const 192) (i32.const 2)))))
    (call $pack (i32.const 200) (i32.const 21)))
  (func (export "rewind_verify") (param $p i32) (param $n i32) (result i64)
    (if (call $has (local.get $p) (local.get $n) (i32.const 80) (i32.const 4)) (then unreachable))
    (if (call $has (local.get $p) (local.get $n) (i32.const 84) (i32.const 4)) (then (loop $forever (br $forever))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 88) (i32.const 4))
      (then (return (call $pack (i32.const 16) (i32.const -16)))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 92) (i32.const 7))
      (then (return (call $pack (i32.const 64) (i32.const 9)))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 224) (i32.const 8))
      (then (return (call $pack (i32.const 240) (i32.const 11)))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 100) (i32.const 4))
      (then
        (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        unreachable))
    (call $pack (i32.const 16) (i32.const 25)))
)
