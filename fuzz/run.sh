#!/bin/sh
# Runs a cargo-fuzz target for a fixed time.
#
#   fuzz/run.sh SECONDS [TARGET]     (TARGET: validate (default) or regions)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`, once).
# The first run builds the runtime with sanitizer instrumentation (slow) and,
# like any first use of mung-runtime, may prepare the interpreter cache.
# Crashes are written to fuzz/artifacts/TARGET/; the exit status is non-zero
# when one was found.
set -eu
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET]}
target=${2:-validate}
cd "$(dirname "$0")"
mkdir -p "corpus/$target"
# The nightly toolchain usually lacks the wasm32-wasip2 target: reuse the
# guest components the normal (stable) build made, if there are any.
for pair in GLUE:mung-runtime-glue/wasm32-wasip2/release/mung_runtime_glue.wasm \
            HTTP:mung-runtime-http-adapter/wasm32-wasip2/release/mung_runtime_http_adapter.wasm; do
    var=MUNG_RUNTIME_${pair%%:*}_WASM file=../target/${pair#*:}
    if [ -z "$(printenv "$var" || true)" ] && [ -f "$file" ]; then
        export "$var=$PWD/$file"
    fi
done
# -rss_limit_mb: the runtime maps its instance pool (virtual memory) and a
# compiled component; its resident memory stays far below this.
exec cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=8192 -max_len=65536 -timeout=30
