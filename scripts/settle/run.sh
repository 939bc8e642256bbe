#!/bin/bash
# usage: run.sh NODE ROUNDS OUT "workloads" "mechs"
NODE=$1; R=$2; OUT=$3; WS=$4; MS=$5
cd "$(dirname "$0")"
jobs=()
for r in $(seq $R); do for w in $WS; do for m in $MS; do jobs+=("$w $m"); done; done; done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 sh -c "timeout 180 $NODE --expose-gc experiment.js \$0 \$1 >> $OUT 2>>$OUT.err"
