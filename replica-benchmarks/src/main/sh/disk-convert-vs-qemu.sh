#!/usr/bin/env bash
# Times `replica disk convert` against `qemu-img convert -t writeback` on the same 4 GiB raw
# image (half data in 8 MiB runs, half holes), raw -> vhdx and vhdx -> raw; prints every run, the
# median of each, and the start-up time of the replica command (JVM and command line, no I/O).
# Usage:
#   replica-benchmarks/src/main/sh/disk-convert-vs-qemu.sh [work-folder] [runs]
# REPLICA overrides the command (default: the repository's ./replica launcher).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
work="${1:-$(mktemp -d)}"
runs="${2:-5}"
replica="${REPLICA:-$root/replica}"
mkdir -p "$work"
cd "$work"
if [ ! -f img.raw ]; then
  python3 - <<'PY'
import os
size = 4 << 30
with open('img.raw', 'wb') as f:
    f.truncate(size)
    chunk = os.urandom(8 << 20)
    for region in range(0, size, 64 << 20):
        for k in range(4):
            f.seek(region + k * (8 << 20))
            f.write(chunk)
PY
fi
qemu-img convert -t writeback -f raw -O vhdx img.raw source.vhdx
truncate -s 1M tiny.raw
seconds() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one() {
  case "$1 $2" in
    "qemu raw->vhdx") seconds qemu-img convert -t writeback -f raw -O vhdx img.raw q.vhdx ;;
    "qemu vhdx->raw") seconds qemu-img convert -t writeback -f vhdx -O raw source.vhdx q.raw ;;
    "replica raw->vhdx") seconds $replica disk convert img.raw r.vhdx ;;
    "replica vhdx->raw") seconds $replica disk convert source.vhdx r.raw ;;
  esac
}
: > times.txt
for i in $(seq "$runs"); do
  rm -f q.vhdx r.vhdx q.raw r.raw; sync
  # Who goes first alternates: on some machines (VMs whose host backs guest memory lazily) the
  # run that takes fresh page cache after another one pays several times as much for it.
  if (( i % 2 )); then order="qemu replica"; else order="replica qemu"; fi
  for what in "raw->vhdx" "vhdx->raw"; do
    for tool in $order; do
      echo "$tool $what $(one "$tool" "$what")" >> times.txt; sync
    done
  done
  echo "replica start-up $(seconds $replica disk info tiny.raw)" >> times.txt
done
cat times.txt
for what in "raw->vhdx" "vhdx->raw"; do
  q=$(grep "^qemu $what" times.txt | awk '{print $3}' | median)
  r=$(grep "^replica $what" times.txt | awk '{print $3}' | median)
  echo "median $what: qemu-img ${q}s, replica ${r}s, replica/qemu $(awk -v r="$r" -v q="$q" 'BEGIN {printf "%.2f", r / q}')"
done
echo "median replica start-up (disk info of a 1 MiB raw file): $(grep "^replica start-up" times.txt | awk '{print $3}' | median)s"
qemu-img compare -q q.vhdx r.vhdx && cmp -s q.raw r.raw && echo "outputs identical"
