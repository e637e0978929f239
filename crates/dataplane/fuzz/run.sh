#!/usr/bin/env bash
# Builds the pipeline fuzz target with libFuzzer's instrumentation (what `cargo fuzz`
# does, without needing cargo-fuzz: nightly + sanitizer-coverage flags + ASan), seeds a
# corpus with every Ethernet frame of the tcpdump vectors (../../../../shared/vectors, or
# $VECTORS), and fuzzes for SECONDS (default 240), printing libFuzzer's final stats.
# Usage: crates/dataplane/fuzz/run.sh [SECONDS]   (corpus and crashes under fuzz/corpus,
# fuzz/artifacts; target dir $CARGO_TARGET_DIR or fuzz/target).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${1:-240}"
vectors="${VECTORS:-$here/../../../../shared/vectors/tcpdump/tests}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions \
-Coverflow-checks -Zsanitizer=address"
triple=x86_64-unknown-linux-gnu
(cd "$here" && cargo +nightly build --release --target "$triple" --bin pipeline)
mkdir -p "$here/corpus/pipeline" "$here/artifacts/pipeline"
if [ -d "$vectors" ]; then
  python3 - "$vectors" "$here/corpus/pipeline" <<'PY'
import glob, hashlib, struct, sys
src, dst = sys.argv[1:]
for p in glob.glob(src + "/*.pcap"):
    b = open(p, "rb").read()
    e = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
         b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(b[:4])
    if e is None or len(b) < 24 or struct.unpack(e + "I", b[20:24])[0] != 1:
        continue  # not a pcap of Ethernet frames
    off = 24
    while off + 16 <= len(b):
        incl = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        f = b[off + 16:off + 16 + incl]
        off += 16 + incl
        open(dst + "/" + hashlib.sha1(f).hexdigest(), "wb").write(f)
PY
else
  echo "no vectors at $vectors: starting from an empty corpus" >&2
fi
"$CARGO_TARGET_DIR/$triple/release/pipeline" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$here/artifacts/pipeline/" "$here/corpus/pipeline"
