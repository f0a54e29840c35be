# CPU time of processes and of the whole machine from /proc, in clock
# ticks (CLOCK_TICKS per second), for benchmarks that report where the CPU
# time went.  Source it after lib.sh.

CLOCK_TICKS=$(getconf CLK_TCK)

# sum_ticks own|all PID...: prints the CPU time of the processes in clock
# ticks: their own, and with "all" also that of the children they have
# waited for, which include the children's children.  A process that is
# gone counts 0.  One awk reads every /proc/PID/stat, so that reading
# hundreds of processes costs little.
sum_ticks() {
	local mode=$1 files=() pid
	shift

	for pid in "$@"; do
		files+=("/proc/$pid/stat")
	done
	[ ${#files[@]} -gt 0 ] || { echo 0; return 0; }
	cat "${files[@]}" 2>/dev/null | awk -v all="$mode" '{
		sub(/^.*\) /, "")
		total += $12 + $13 + (all == "all" ? $14 + $15 : 0)
	} END { print total + 0 }'
}

# Prints the CPU time of the processes' main threads in clock ticks, from
# the nanoseconds in /proc/PID/schedstat.  /proc/PID/stat rounds each
# process down to whole ticks, which loses short bursts in many processes,
# such as one reload in each of 200 Apache parents.
sum_precise_ticks() {
	local files=() pid

	for pid in "$@"; do
		files+=("/proc/$pid/schedstat")
	done
	[ ${#files[@]} -gt 0 ] || { echo 0; return 0; }
	cat "${files[@]}" 2>/dev/null | awk -v hz="$CLOCK_TICKS" '{ total += $1 } END { printf "%.0f\n", total * hz / 1e9 }'
}

# Prints the clock ticks that all cores were busy (user, nice, system,
# irq, softirq, steal), other programs on the machine included, and the
# time in seconds.
machine_ticks() {
	echo "$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat) $(date +%s.%N)"
}
