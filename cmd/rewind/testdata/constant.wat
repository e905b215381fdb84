;; A verifier that answers {"score":1,"status":"ok"} to every request: used
;; to check that "rewind plugin test" reports the cases it gets wrong.
;; Requests are written at offset 1024 (they must stay under 63 KiB).
;; Build: wat2wasm constant.wat -o constant.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{\22score\22:1,\22status\22:\22ok\22}")
  (func (export "rewind_abi_version") (result i32) (i32.const 1))
  (func (export "rewind_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "rewind_free") (param i32 i32))
  (func (export "rewind_verify") (param $p i32) (param $n i32) (result i64)
    ;; the 25-byte response at offset 16: (16 << 32) | 25
    (i64.const 68719476761)))
