#!/bin/bash
# Runs one libFuzzer harness for ctest and scripts/fuzz.
#
#   run_fuzzer.sh corpus FUZZER CORPUS
#       Runs every input in CORPUS once and fails if one crashes.
#   run_fuzzer.sh fuzz FUZZER CORPUS SECONDS WORKDIR
#       Fuzzes for SECONDS.  New inputs go to WORKDIR/corpus, crashing
#       inputs to WORKDIR/crashes; CORPUS is only read.  Fails on a crash.
#
# The dictionary NAME.dict next to this script is used when present, for
# the harness fuzz_NAME.
set -euo pipefail

mode=$1
fuzzer=$2
corpus=$3
name=$(basename "$fuzzer")
dict=$(dirname "$0")/${name#fuzz_}.dict
dict_option=()
[ -f "$dict" ] && dict_option=(-dict="$dict")

# Replaces the detect_leaks=0 that scripts/test sets for the daemon:
# a harness frees everything it allocates, so a leak here is a bug.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

case $mode in
corpus)
	exec "$fuzzer" "${dict_option[@]}" -runs=0 "$corpus"
	;;
fuzz)
	seconds=$4
	workdir=$5
	mkdir -p "$workdir/corpus" "$workdir/crashes"
	# libFuzzer writes new inputs into the first folder only, so the
	# committed corpus, given second, does not grow.
	exec "$fuzzer" "${dict_option[@]}" -max_total_time="$seconds" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$workdir/crashes/" \
		"$workdir/corpus" "$corpus"
	;;
*)
	echo "run_fuzzer.sh: unknown mode \"$mode\"; use corpus or fuzz" >&2
	exit 2
	;;
esac
