;; The `host` adapter of the interpreter component.
;;
;; The CPython core module imports `host.call(req, req_len, out_ptr, out_len)`
;; (its `_host.call(frame)` built-in). This adapter satisfies that import inside
;; the component and exports `mung:interp/turn`:
;;
;;   frame b"\x01" + data  -> remember `data` as the reply of the current turn
;;   frame b"\x02"         -> give the bytes from `set-input` to Python (once)
;;   anything else         -> -1 (Python sees ConnectionRefusedError)
;;
;; Adapter rules: memory comes from the main module (`env.memory`), no data
;; section, and realloc is the main module's `host_alloc`. Every buffer given to
;; the guest is freed by the guest, so the reply is copied into a buffer owned
;; by this adapter, which is reused and only grows.
(module
  (import "env" "memory" (memory 0))
  (import "__main_module__" "turn" (func $turn (param i32 i32) (result i32)))
  (import "__main_module__" "host_alloc" (func $host_alloc (param i32) (result i32)))

  ;; Pending input from `set-input`.
  (global $in_ptr (mut i32) (i32.const 0))
  (global $in_len (mut i32) (i32.const 0))
  ;; Reply buffer of the current turn.
  (global $buf_ptr (mut i32) (i32.const 0))
  (global $buf_cap (mut i32) (i32.const 0))
  (global $reply_len (mut i32) (i32.const 0))
  ;; 16-byte return area of `run`: status, reply ptr, reply word count,
  ;; reply byte length.
  (global $ret (mut i32) (i32.const 0))

  (func $alloc (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (call $host_alloc (local.get $len)))
    (if (i32.eqz (local.get $p)) (then unreachable))
    (local.get $p))

  (func (export "call") (param $req i32) (param $req_len i32) (param $out_ptr i32) (param $out_len i32) (result i32)
    (local $n i32)
    (local $padded i32)
    (local $cap i32)
    (if (i32.eqz (local.get $req_len)) (then (return (i32.const -1))))
    ;; b"\x02": hand over the pending input
    (if (i32.eq (i32.load8_u (local.get $req)) (i32.const 2))
      (then
        (if (i32.eqz (global.get $in_ptr))
          (then
            ;; nothing pending: an empty, guest-owned buffer
            (global.set $in_ptr (call $alloc (i32.const 1)))
            (global.set $in_len (i32.const 0))))
        (i32.store (local.get $out_ptr) (global.get $in_ptr))
        (i32.store (local.get $out_len) (global.get $in_len))
        (global.set $in_ptr (i32.const 0))
        (global.set $in_len (i32.const 0))
        (return (i32.const 0))))
    ;; b"\x01" + data: keep a copy of data, padded to whole words, as the reply
    (if (i32.eq (i32.load8_u (local.get $req)) (i32.const 1))
      (then
        (local.set $n (i32.sub (local.get $req_len) (i32.const 1)))
        (local.set $padded (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8)))
        (if (i32.gt_u (local.get $padded) (global.get $buf_cap))
          (then
            ;; grow geometrically; the old buffer cannot be freed from here
            (local.set $cap (i32.shl (global.get $buf_cap) (i32.const 1)))
            (if (i32.lt_u (local.get $cap) (local.get $padded)) (then (local.set $cap (local.get $padded))))
            (if (i32.lt_u (local.get $cap) (i32.const 4096)) (then (local.set $cap (i32.const 4096))))
            ;; a list<u64> must be 8-byte aligned
            (global.set $buf_ptr
              (i32.and (i32.add (call $alloc (i32.add (local.get $cap) (i32.const 8))) (i32.const 7))
                       (i32.const -8)))
            (global.set $buf_cap (local.get $cap))))
        (memory.copy (global.get $buf_ptr) (i32.add (local.get $req) (i32.const 1)) (local.get $n))
        (memory.fill (i32.add (global.get $buf_ptr) (local.get $n)) (i32.const 0)
                     (i32.sub (local.get $padded) (local.get $n)))
        (global.set $reply_len (local.get $n))
        ;; the guest frees the reply buffer: give it a fresh empty one
        (i32.store (local.get $out_ptr) (call $alloc (i32.const 1)))
        (i32.store (local.get $out_len) (i32.const 0))
        (return (i32.const 0))))
    (i32.const -1))

  (func (export "mung:interp/turn@0.1.0#run") (param $src i32) (param $len i32) (result i32)
    (local $status i32)
    (if (i32.eqz (global.get $ret)) (then (global.set $ret (call $alloc (i32.const 16)))))
    (global.set $reply_len (i32.const 0))
    ;; `turn` takes ownership of the source buffer
    (local.set $status (call $turn (local.get $src) (local.get $len)))
    (i32.store (global.get $ret) (local.get $status))
    (i32.store offset=4 (global.get $ret)
      (select (global.get $buf_ptr) (i32.const 0) (global.get $reply_len)))
    (i32.store offset=8 (global.get $ret)
      (i32.shr_u (i32.add (global.get $reply_len) (i32.const 7)) (i32.const 3)))
    (i32.store offset=12 (global.get $ret) (global.get $reply_len))
    (global.get $ret))

  (func (export "mung:interp/turn@0.1.0#set-input") (param $ptr i32) (param $words i32) (param $len i32)
    (global.set $in_ptr (local.get $ptr))
    ;; never more bytes than the words hold
    (global.set $in_len
      (select (local.get $len) (i32.shl (local.get $words) (i32.const 3))
              (i32.le_u (local.get $len) (i32.shl (local.get $words) (i32.const 3))))))

  (func $realloc (export "cabi_export_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    ;; lists and strings of this interface are only ever allocated fresh, and
    ;; the guest frees them (so no aligning by offset): even an empty one gets
    ;; a real allocation, and malloc's alignment must serve the list's
    (local.set $p (call $alloc (select (local.get $size) (i32.const 1) (local.get $size))))
    (if (i32.and (local.get $p) (i32.sub (local.get $align) (i32.const 1))) (then unreachable))
    (local.get $p))

  (func (export "cabi_import_realloc") (param i32 i32 i32 i32) (result i32)
    (call $realloc (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
)
