#!/usr/bin/env bash
# Builds every firmware under embedded/ for a Cortex-M4F, runs it on QEMU's mps2-an386 board
# with `-icount shift=0` (deterministic instruction counts), runs the same crate on the host,
# and prints one line per network:
#
#   NAME: K/K predictions equal the host, I instructions per inference, flash F B, ram R B
#
# Flash is .text plus .rodata; RAM is the statics (.data, .bss, .uninit) plus the stack's
# measured peak. The instruction counts are a regression gate: the run fails when a count
# grows by more than 2 % over embedded/expected.toml; `embedded/run.sh --update` writes the
# new counts there (commit them when they drop). `--layers` adds each baked layer's instructions
# and multiply-accumulates (from a second, probed pass). An int8 firmware also prints a digest of
# every output byte, which must be the host's. MNIST is fetched first when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

update=false
layers=false
for arg in "$@"; do
    case "$arg" in
        --update) update=true ;;
        --layers) layers=true ;;
        *) echo "usage: embedded/run.sh [--update] [--layers]" >&2; exit 2 ;;
    esac
done

target=thumbv7em-none-eabihf
profile=embedded
expected=embedded/expected.toml
tolerance_percent=2

command -v qemu-system-arm >/dev/null || {
    echo "error: qemu-system-arm is missing; on Debian: apt-get install qemu-system-arm" >&2
    exit 1
}
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

# The firmware embeds the first test images at build time (embedded/board/build.rs).
mnist_dir=${MNIST_DIR:-data/mnist}
if [ ! -f "$mnist_dir/t10k-images-idx3-ubyte" ]; then
    echo "MNIST is not in $mnist_dir: fetching it with the mnist example (one epoch)"
    cargo run --release --example mnist -- --epochs 1 --data-dir "$mnist_dir" >/dev/null
fi

# The count expected.toml holds for a firmware, or nothing.
expected_count() {
    [ -f "$expected" ] || return 0
    sed -n "s/^$1 = \([0-9]*\)$/\1/p" "$expected"
}

# The size of an ELF section, 0 when it has none.
section() {
    awk -v name="$2" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' <<<"$1"
}

# Every firmware package, and its binary's name.
packages=()
firmwares=()
for manifest in embedded/*/Cargo.toml; do
    grep -q '^\[\[bin\]\]' "$manifest" || continue
    packages+=("$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -1)")
    firmwares+=("$(awk '/^\[\[bin\]\]/ { bin = 1 } bin && /^name = / { gsub(/"/, "", $3); print $3; exit }' "$manifest")")
done

# One build for the host and one for the device: cargo then compiles the packages side by side.
# Every package asks for the same `nn` features, so building them together changes nothing.
package_args=()
for package in "${packages[@]}"; do package_args+=(-p "$package"); done
cargo build -q "${package_args[@]}" --profile "$profile"
cargo build -q "${package_args[@]}" --target "$target" --profile "$profile"
target_dir=${CARGO_TARGET_DIR:-target}

# The QEMU runs, one thread each, as many at a time as there are cores; -icount makes each
# count the same whatever runs beside it.
outputs=$(mktemp -d)
trap 'rm -rf "$outputs"' EXIT
run_on_device() {
    local status=0
    timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -semihosting-config enable=on,target=native -icount shift=0 -kernel "$1" >"$2" 2>&1 || status=$?
    echo "$status" >"$2.status"
}
for firmware in "${firmwares[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
    run_on_device "$target_dir/$target/$profile/$firmware" "$outputs/$firmware" &
done
wait

failed=0
new_counts=""
for i in "${!firmwares[@]}"; do
    firmware=${firmwares[i]}
    host=$("$target_dir/$profile/$firmware")
    elf="$target_dir/$target/$profile/$firmware"
    device=$(cat "$outputs/$firmware")
    if [ "$(cat "$outputs/$firmware.status")" -ne 0 ]; then
        echo "$device"
        echo "error: $firmware failed on the device" >&2
        failed=1
        continue
    fi

    host_predictions=$(sed -n "s/^$firmware: predictions //p" <<<"$host")
    device_predictions=$(sed -n "s/^$firmware: predictions //p" <<<"$device")
    instructions=$(sed -n "s/^$firmware: \([0-9]*\) instructions per inference$/\1/p" <<<"$device")
    stack=$(sed -n "s/^$firmware: stack peak \([0-9]*\) B$/\1/p" <<<"$device")
    total=${#host_predictions}
    equal=0
    for ((i = 0; i < total; i++)); do
        [ "${host_predictions:i:1}" = "${device_predictions:i:1}" ] && equal=$((equal + 1))
    done
    sizes=$(size -A "$elf")
    flash=$(($(section "$sizes" .text) + $(section "$sizes" .rodata)))
    ram=$(($(section "$sizes" .data) + $(section "$sizes" .bss) + $(section "$sizes" .uninit) + stack))
    echo "$firmware: $equal/$total predictions equal the host, $instructions instructions per inference, flash $flash B, ram $ram B"
    if $layers; then
        sed -n "s/^$firmware: layer \(.*\): \([0-9]*\) instructions, \([0-9]*\) multiply-accumulates$/\1|\2|\3/p" <<<"$device" |
            awk -F'|' '{ per = $3 > 0 ? sprintf(", %.2f per multiply-accumulate", $2 / $3) : ""; printf "    %-45s %9d instructions, %8d multiply-accumulates%s\n", $1, $2, $3, per }'
    fi
    if [ "$total" -eq 0 ] || [ "$equal" -ne "$total" ] || [ "${#device_predictions}" -ne "$total" ]; then
        echo "error: $firmware's device predictions differ from the host's" >&2
        failed=1
    fi
    # An int8 firmware hashes every output byte: integer arithmetic, so the device's bytes
    # must be the host's, not only its classes.
    host_digest=$(sed -n "s/^$firmware: output digest //p" <<<"$host")
    device_digest=$(sed -n "s/^$firmware: output digest //p" <<<"$device")
    if [ "$host_digest" != "$device_digest" ]; then
        echo "error: $firmware's device output bytes differ from the host's (digest $device_digest, host $host_digest)" >&2
        failed=1
    elif [ -n "$host_digest" ]; then
        echo "    every output byte equals the host's (digest $host_digest)"
    fi

    new_counts+="$firmware = $instructions"$'\n'
    before=$(expected_count "$firmware")
    if [ -z "$before" ]; then
        $update || { echo "error: $expected has no count for $firmware; run embedded/run.sh --update" >&2; failed=1; }
    elif [ $((instructions * 100)) -gt $((before * (100 + tolerance_percent))) ]; then
        if $update; then
            echo "note: $firmware grows from $before to $instructions instructions per inference; say why in the commit"
        else
            echo "error: $firmware takes $instructions instructions per inference, more than 2 % over the $before of $expected" >&2
            failed=1
        fi
    elif [ "$instructions" -lt "$before" ] && ! $update; then
        echo "note: $firmware is down from $before; run embedded/run.sh --update and commit $expected"
    fi
done

if $update; then
    {
        echo "# Instructions per inference of each firmware on QEMU's mps2-an386 (-icount shift=0),"
        echo "# written by \`embedded/run.sh --update\`. \`embedded/run.sh\` fails when one grows by more"
        echo "# than $tolerance_percent %."
        printf '%s' "$new_counts"
    } >"$expected"
    echo "wrote $expected"
fi
exit "$failed"
