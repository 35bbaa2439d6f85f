#!/bin/sh
# `local` is not POSIX, but dash, bash and busybox sh all have it.
# shellcheck disable=SC3043
# End-to-end benchmark: fwd against the bare NFQUEUE loop and the kernel alone.
#
#   tests/bench/e2e.sh BUILD_DIR [--quick]
#
# Three network namespaces, sender -- gateway -- sink, joined by veth pairs;
# the gateway forwards. The generator (BUILD_DIR/bench/blast) and the sink
# (BUILD_DIR/bench/sink) run on CPU 0, the gateway (its receive work, steered
# with RPS, and its queue reader: fwd or BUILD_DIR/bench/nfq_bare) on the
# others. Measured: zero-loss rate and saturation throughput of 64-byte UDP with
# every packet queued (fwd with 10 and 10,000 rules, the bare one-verdict-per-
# packet loop, the kernel with the same rules in iptables); new TCP connections/s
# and bulk TCP with only new connections queued; added latency; 1, 2, N queues;
# the cost of logging every verdict (to a file in /dev/shm, a tmpfs); and what
# each of the queue settings buys, measured on the bare loop (one verdict per
# packet vs a batch per burst, headers-only vs full copy, receive buffer).
# Rows that cannot run print SKIP with the reason.
# E2E_ROWS="fwd10 fwd10log ..." runs only the rows with those keys (for tuning;
# "paired" is the paired zero-loss rounds, over those of their gateways whose
# rows ran); E2E_PAIRED_ROUNDS sets how many rounds (default PAIRED).
# RX=own runs every row with the gateway's receive work off the reader's CPU.
# E2E_FWD_PREFIX="chrt -f 10" runs fwd under that command (e.g. a real-time priority). The table goes to stdout and
# to BUILD_DIR/bench/e2e.md; the rulesets to BUILD_DIR/bench/e2e-*.yaml.
set -u

usage() {
	echo "usage: e2e.sh BUILD_DIR [--quick]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
B=$1
shift
QUICK=0
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	*) usage ;;
	esac
done

BIN=$B/bench
FWD=$B/fwd
OUT=$B/bench/e2e.md
NCPU=$(nproc 2>/dev/null || echo 1)

# Counts chosen so the full run takes under ~18 minutes (the paired rounds ~6 of
# them) and --quick under ~3. PAIRED: rounds of the paired searches the target
# ratios come from; one round's ratio scatters by +/- 20-35% on a shared
# machine, more than the 5-10% effects two of the targets name, so they get
# more rounds than the rows.
if [ $QUICK = 1 ]; then
	RUNS=3 TRIAL_MS=300 ITERS=5 SAT_RUNS=3 CONN_MS=1000 BULK_S=2 PING_MS=1000 VAR_RUNS=1 PAIRED=3
	SYN_TRIES=200
else
	RUNS=5 TRIAL_MS=1000 ITERS=8 SAT_RUNS=3 CONN_MS=2000 BULK_S=4 PING_MS=3000 VAR_RUNS=3 PAIRED=9
	SYN_TRIES=1000
fi
# The SYN-flood rows: SYN_PAR attempts in flight; the flood lasts the
# client's run (SYN_MS at most).
SYN_TIMEOUT_MS=3000
SYN_PAR=32
SYN_MS=60000
# VAR_RUNS: binary searches for the rows that only compare variants (logging,
# the bare loop's settings), so the whole run stays in its time budget.
ZL_RUNS=$RUNS
FLOWS=8			# UDP source ports, so flow hashing has something to spread
CONN_PAR=8		# TCP connects in flight
PING_MAX=200000		# the ping sender makes one syscall per packet

# Namespaces and addresses; unique per run so parallel runs cannot collide.
NS_S=fwdb-s-$$
NS_G=fwdb-g-$$
NS_K=fwdb-k-$$
SND=10.77.1.2
SNK=10.77.2.2
if [ "$NCPU" -ge 2 ]; then
	GEN_CPU=0 GW_CPU=1
	[ "$NCPU" -gt 2 ] && GW_CPUS=1-$((NCPU - 1)) || GW_CPUS=1
else
	GEN_CPU=0 GW_CPU=0 GW_CPUS=0
fi
# The same as hexadecimal CPU masks, for rps_cpus.
GEN_MASK=1
GW_MASK=$(awk -v n="$NCPU" 'BEGIN { m = 0; for (c = 1; c < n; c++) m += 2 ^ c; printf "%x", m ? m : 1 }')

T=$(mktemp -d /tmp/fwd-e2e.XXXXXX)
# fwd's log file for the logging rows: on a tmpfs, so the disk is not measured.
SHM=$(mktemp -d /dev/shm/fwd-e2e.XXXXXX 2>/dev/null || mktemp -d /tmp/fwd-e2e-log.XXXXXX)
RES=$T/results
: >"$RES"
PIDS=""
NETNS_UP=0
SKIP_ALL=""
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	if [ $NETNS_UP = 1 ]; then
		for ns in $NS_S $NS_G $NS_K; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$p" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		done
	fi
	rm -rf "$T" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s)
log() { echo "e2e: [$(($(date +%s) - T0)) s] $*" >&2; }
put() { echo "$1 $2" >>"$RES"; }
get() { awk -v k="$1" '$1 == k { v = $0; sub(/^[^ ]+ /, "", v) } END { print v }' "$RES"; }
track() { PIDS="$PIDS $1"; }
untrack() { PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' '); }
nss() { ip netns exec "$NS_S" "$@"; }
nsg() { ip netns exec "$NS_G" "$@"; }
nsk() { ip netns exec "$NS_K" "$@"; }
# Background jobs call `ip netns exec` directly, never through a function:
# `func &` forks a shell, and $! would be that shell, not the program.
# want KEY: is the row KEY to be run (E2E_ROWS unset, or it lists KEY)?
want() { [ -z "${E2E_ROWS:-}" ] || case " $E2E_ROWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }

# wait_for FILE PATTERN TENTHS: 0 once FILE holds a line matching PATTERN.
wait_for() {
	local i
	i=0
	while [ $i -lt "$3" ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_listen PORT TENTHS: 0 once a TCP socket in the sink's namespace listens on PORT.
wait_listen() {
	local i
	i=0
	while [ $i -lt "$2" ]; do
		nsk ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---------------------------------------------------------------- topology

setup_net() {
	ip netns add $NS_S && ip netns add $NS_G && ip netns add $NS_K || return 1
	NETNS_UP=1
	ip link add s0 netns $NS_S type veth peer name g0 netns $NS_G || return 1
	ip link add g1 netns $NS_G type veth peer name k0 netns $NS_K || return 1
	nss ip addr add $SND/24 dev s0 && nss ip link set s0 up && nss ip link set lo up &&
		nsg ip addr add 10.77.1.1/24 dev g0 && nsg ip link set g0 up &&
		nsg ip addr add 10.77.2.1/24 dev g1 && nsg ip link set g1 up &&
		nsg ip link set lo up &&
		nsk ip addr add $SNK/24 dev k0 && nsk ip link set k0 up && nsk ip link set lo up &&
		nss ip route add default via 10.77.1.1 &&
		nsk ip route add default via 10.77.2.1 &&
		nsg sysctl -qw net.ipv4.ip_forward=1 || return 1
	# Permanent neighbours: no trial may lose its first packets to ARP.
	mac_s0=$(nss cat /sys/class/net/s0/address)
	mac_g0=$(nsg cat /sys/class/net/g0/address)
	mac_g1=$(nsg cat /sys/class/net/g1/address)
	mac_k0=$(nsk cat /sys/class/net/k0/address)
	nss ip neigh replace 10.77.1.1 lladdr "$mac_g0" dev s0 nud permanent &&
		nsg ip neigh replace $SND lladdr "$mac_s0" dev g0 nud permanent &&
		nsg ip neigh replace $SNK lladdr "$mac_k0" dev g1 nud permanent &&
		nsk ip neigh replace 10.77.2.1 lladdr "$mac_g1" dev k0 nud permanent || return 1
	# Receive Packet Steering puts each namespace's receive work where a real
	# box would have it: the gateway's on the gateway's CPUs, the sender's and
	# the sink's on the generator's. Without it veth runs the receiver's
	# softirq on the sending CPU, and the generator would pay for the gateway.
	nss sh -c "echo $GEN_MASK >/sys/class/net/s0/queues/rx-0/rps_cpus" &&
		nsk sh -c "echo $GEN_MASK >/sys/class/net/k0/queues/rx-0/rps_cpus" &&
		nsg sh -c "echo $GW_MASK >/sys/class/net/g0/queues/rx-0/rps_cpus" &&
		nsg sh -c "echo $GW_MASK >/sys/class/net/g1/queues/rx-0/rps_cpus" ||
		echo "e2e: no RPS: receive work stays on the sending CPU" >&2
	nsk sysctl -qw net.core.somaxconn=4096
	nsk sysctl -qw net.ipv4.tcp_max_syn_backlog=8192
	nss sysctl -qw net.ipv4.ip_local_port_range="10000 60999"
}

# rx_place shared|own: the gateway's receive work (RPS on g0 and g1) on the
# queue reader's CPU (shared: a NIC interrupt landing there does the same on
# a real gateway) or on another (own: the reader has its CPU to itself; with
# two CPUs that other one is the generator's, which then offers less).
rx_place() {
	local m
	m=$GW_MASK
	if [ "$1" = own ]; then
		[ "$NCPU" -gt 2 ] && m=$(printf '%x' $((1 << (NCPU - 1)))) || m=$GEN_MASK
	fi
	nsg sh -c "echo $m >/sys/class/net/g0/queues/rx-0/rps_cpus; echo $m >/sys/class/net/g1/queues/rx-0/rps_cpus" 2>/dev/null
}

# Back to a gateway with no firewall at all: fwd's leftovers, our rules.
gw_reset() {
	for ipt in iptables ip6tables; do
		for t in filter mangle nat raw; do
			nsg $ipt -t $t -F 2>/dev/null
			nsg $ipt -t $t -X 2>/dev/null
		done
		nsg $ipt -P FORWARD ACCEPT 2>/dev/null
	done
}

# ---------------------------------------------------------------- rulesets

# One rule a line: NAME PROTO SRC DST DPORT ACTION ("-" for any). The benched
# UDP flow (sender -> sink:9000) matches the last rule, bench-udp; the sink's
# replies match sink-replies. Nothing before them matches the benched flows.
base_spec() {
	cat <<-'EOF'
	drop-telnet tcp - - 23 drop
	ssh-admins tcp 192.168.50.0/24 - 22 allow
	dns udp - 10.77.2.53 53 allow
	web tcp - 10.77.2.80 80,443 allow
	no-smtp tcp - - 25 drop
	ntp udp 10.99.0.0/16 - 123 allow
	no-mgmt tcp - - 8000-8099 drop
	bench-tcp tcp 10.77.1.0/24 10.77.2.2 5201,9100 allow
	sink-replies - 10.77.2.0/24 10.77.1.0/24 - allow
	bench-udp udp 10.77.1.0/24 10.77.2.2 9000-9001 allow
	EOF
}

# N realistic host and subnet rules in front of the base ones: one per
# internal host or partner network, a service port each, allow or drop.
filler_spec() {
	awk -v n="$1" 'BEGIN {
		split("22 80 443 3306 5432 6379 8080 8443 25 110 143 993", tp, " ")
		split("53 123 161 514 1194 5060 500 4500", up, " ")
		for (i = 0; i < n; i++) {
			proto = i % 3 == 0 ? "udp" : "tcp"
			if (i % 7 == 0)
				src = sprintf("10.%d.%d.0/24", 100 + int(i / 7 / 256), int(i / 7) % 256)
			else
				src = sprintf("172.16.%d.%d", int(i / 256), i % 256)
			dst = i % 5 == 0 ? sprintf("10.200.%d.%d", int(i / 250), i % 250 + 1) : "-"
			if (i % 11 == 0)
				port = "10000-10100"
			else if (proto == "udp")
				port = up[i % 8 + 1]
			else
				port = tp[i % 12 + 1]
			printf "r%05d %s %s %s %s %s\n", i, proto, src, dst, port, i % 4 ? "allow" : "drop"
		}
	}'
}

# spec_yaml INSPECT < spec > yaml
spec_yaml() {
	awk -v inspect="$1" 'BEGIN {
		print "version: 1"
		print "default: drop"
		print "log: none"
		print "daemon:"
		print "  inspect: " inspect
		print "rules:"
	}
	{
		print "  - name: " $1
		if ($2 != "-") print "    proto: " $2
		if ($3 != "-") print "    src: " $3
		if ($4 != "-") print "    dst: " $4
		if ($5 ~ /,/) print "    dport: [" $5 "]"
		else if ($5 ~ /-/ && $5 != "-") print "    dport: \"" $5 "\""
		else if ($5 != "-") print "    dport: " $5
		print "    action: " $6
	}'
}

# spec_ipt STATEFUL < spec > iptables-restore input for the FORWARD chain
spec_ipt() {
	awk -v stateful="$1" 'BEGIN {
		print "*filter"
		print ":FORWARD DROP [0:0]"
		if (stateful) {
			print "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
			print "-A FORWARD -m conntrack --ctstate INVALID -j DROP"
		}
	}
	{
		r = "-A FORWARD"
		if ($2 != "-") r = r " -p " $2
		if ($3 != "-") r = r " -s " $3
		if ($4 != "-") r = r " -d " $4
		if ($5 ~ /,/) r = r " -m multiport --dports " $5
		else if ($5 != "-") { p = $5; sub(/-/, ":", p); r = r " -m " $2 " --dport " p }
		print r " -j " ($6 == "allow" ? "ACCEPT" : "DROP")
	}
	END { print "COMMIT" }'
}

make_rulesets() {
	base_spec >"$T/10.spec"
	{ filler_spec 9990; base_spec; } >"$T/10000.spec"
	for n in 10 10000; do
		spec_yaml every-packet <"$T/$n.spec" >"$B/bench/e2e-$n.yaml"
		spec_yaml new-connections <"$T/$n.spec" >"$B/bench/e2e-$n-stateful.yaml"
		spec_ipt 0 <"$T/$n.spec" >"$T/ipt-$n"
		spec_ipt 1 <"$T/$n.spec" >"$T/ipt-$n-stateful"
	done
	# Every verdict logged to a file: with a limit so high nothing is
	# suppressed (logall), and with the default limit (logdef, 10/s burst 50).
	log_yaml "log:\n    sink: file\n    file: $SHM/fwd.log\n    rate: 10000000/s\n    burst: 1000000" \
		<"$T/10.spec" >"$B/bench/e2e-10-logall.yaml"
	log_yaml "log:\n    sink: file\n    file: $SHM/fwd.log" \
		<"$T/10.spec" >"$B/bench/e2e-10-logdef.yaml"
}

# log_yaml DAEMON_LOG < spec > yaml: every-packet, `log: all`, the given daemon log map.
log_yaml() {
	spec_yaml every-packet | awk -v dl="$1" '
		/^log: none$/ { print "log: all"; next }
		{ print }
		/^  inspect: / { gsub(/\\n/, "\n", dl); print "  " dl }'
}

# ---------------------------------------------------------------- gateways

# gw_up KIND: make the gateway one of
#   kernel-N[-stateful]      iptables rules in FORWARD, no queue
#   bare                     nfq_bare on queue 10, every packet queued
#   fwd-N[-stateful]-qQ      fwd with e2e-N.yaml and Q queues
# Returns 1 with the reason in GW_ERR.
gw_up() {
	gw_reset
	rx_place "${RX:-shared}"
	GW=$1 GW_PID="" GW_ERR=""
	case $1 in
	kernel-*)
		nsg iptables-restore <"$T/ipt-${1#kernel-}" 2>"$T/ipt.err" ||
			{ GW_ERR="iptables-restore: $(head -n1 "$T/ipt.err")"; return 1; }
		;;
	bare | bare-*)
		[ -x "$BIN/nfq_bare" ] || { GW_ERR="$BIN/nfq_bare not built"; return 1; }
		nsg iptables -t mangle -A PREROUTING ! -i lo -j NFQUEUE --queue-num 10 ||
			{ GW_ERR="iptables NFQUEUE rule refused"; return 1; }
		# shellcheck disable=SC2046
		ip netns exec "$NS_G" taskset -c $GW_CPU "$BIN/nfq_bare" $(bare_args "$1") 10 \
			>"$T/bare.out" 2>"$T/bare.err" &
		GW_PID=$!
		track $GW_PID
		wait_for "$T/bare.err" ready 50 ||
			{ GW_ERR="nfq_bare: $(tail -n1 "$T/bare.err")"; gw_down; return 1; }
		;;
	fwd-*)
		fwd_up "$1" || { gw_down; return 1; }
		;;
	esac
	return 0
}

# The bare loop's variants: each changes one setting from the plain one.
bare_args() {
	case $1 in
	bare-batch) echo --batch ;;
	bare-batch-full) echo --batch --copy 65535 ;;
	bare-batch-rcv256k) echo --batch --rcvbuf 262144 ;;
	esac
}

fwd_up() {
	local spec q cpus started
	[ -x "$FWD" ] || { GW_ERR="$FWD not built"; return 1; }
	spec=${1#fwd-}
	q=${spec##*-q}
	spec=${spec%-q*}
	cpus=$GW_CPU
	[ "$q" -gt 1 ] && cpus=$GW_CPUS
	rm -f "$T/fwd.sock" "$SHM/fwd.log"
	# shellcheck disable=SC2086
	ip netns exec "$NS_G" taskset -c "$cpus" ${E2E_FWD_PREFIX:-} "$FWD" run -c "$B/bench/e2e-$spec.yaml" --foreground \
		--queues "$q" --queue-num 0 --socket "$T/fwd.sock" --pidfile "$T/fwd.pid" \
		2>"$T/fwd.log" &
	GW_PID=$!
	track $GW_PID
	# With a log file, fwd's messages go there, not to stderr.
	started=$T/fwd.log
	grep -q '^    sink: file' "$B/bench/e2e-$spec.yaml" && started=$SHM/fwd.log
	# Compiling 10,000 rules may take a while; give it 30 s.
	if ! wait_for "$started" "fwd: started" 300; then
		cp "$T/fwd.log" "$B/bench/e2e-$1.fail.log"
		GW_ERR="fwd run did not start: $(grep -v '^$' "$T/fwd.log" | tail -n1)"
		return 1
	fi
	# Its hooks are in place before it says so; look twice all the same.
	if ! wait_hooks; then
		nsg iptables-save >>"$T/fwd.log" 2>&1
		cp "$T/fwd.log" "$B/bench/e2e-$1.fail.log"
		GW_ERR="fwd started but no NFQUEUE rule is in place (see $B/bench/e2e-$1.fail.log)"
		return 1
	fi
	return 0
}

wait_hooks() {
	local i
	i=0
	while [ $i -lt 20 ]; do
		nsg iptables -t mangle -S 2>/dev/null | grep -q NFQUEUE && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

gw_down() {
	if [ -n "$GW_PID" ]; then
		kill -TERM "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
		untrack "$GW_PID"
	fi
	GW_PID=""
	gw_reset
}

# cpu_ticks /proc/PID[/task/TID]: its user and system time, in clock ticks.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12, $13 }' "$1/stat" 2>/dev/null
}

# Packets the queue reader saw since it started, or "" for the kernel.
gw_received() {
	case $GW in
	bare | bare-*)
		kill -TERM "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
		untrack "$GW_PID"
		GW_PID=""
		awk '{ print $2 }' "$T/bare.out"
		;;
	fwd-*)
		"$FWD" stats --socket "$T/fwd.sock" --json 2>/dev/null >"$T/stats.json"
		# fwd's own CPU time (all threads, user + system), in clock ticks
		cpu_ticks "/proc/$GW_PID" | awk '{ print $1 + $2 }' >"$T/ticks"
		# and its logger thread's alone (fwd names it fwd-log), user and system
		: >"$T/logticks"
		for t in /proc/"$GW_PID"/task/*; do
			[ "$(cat "$t/comm" 2>/dev/null)" = fwd-log ] && cpu_ticks "$t" >"$T/logticks"
		done
		sed -n 's/.*"received": *\([0-9]*\).*/\1/p' "$T/stats.json"
		;;
	esac
}

# ---------------------------------------------------------------- trials

sink_start() {
	: >"$T/sink.out"
	ip netns exec "$NS_K" taskset -c $GEN_CPU "$BIN/sink" "$1" "$2" \
		>"$T/sink.out" 2>>"$T/sink.err" &
	SINK_PID=$!
	track $SINK_PID
	wait_for "$T/sink.out" ready 50
}

sink_stop() {
	kill -TERM "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	untrack "$SINK_PID"
	SINK_COUNT=$(tail -n1 "$T/sink.out")
}

cpu_snap() {
	awk '/^cpu[0-9]/ { t = 0; for (i = 2; i <= NF; i++) t += $i; print $1, $5 + $6, t }' \
		/proc/stat >"$1"
}

# Busy share of each CPU between two snapshots: "cpu0 98% cpu1 41%".
cpu_busy() {
	awk 'NR == FNR { idle[$1] = $2; tot[$1] = $3; next }
	     $3 > tot[$1] { printf "%s%s %.0f%%", sep, $1, 100 * (1 - ($2 - idle[$1]) / ($3 - tot[$1])); sep = " " }' \
		"$1" "$2"
}

# udp_trial RATE MS: one blast through the gateway; sets T_SENT T_RECV T_NS,
# leaves /proc/stat snapshots from before and after the blast in $T/cpu.[ab].
udp_trial() {
	local out
	T_SENT=0 T_RECV=0 T_NS=1
	sink_start udp 9000 || return 1
	cpu_snap "$T/cpu.a"
	out=$(nss taskset -c $GEN_CPU "$BIN/blast" udp $SNK 9000 "$1" "$2" $FLOWS)
	cpu_snap "$T/cpu.b"
	sleep 0.1	# whatever is still queued gets its verdict
	sink_stop
	T_SENT=$(echo "$out" | awk '{ print $2 }')
	T_NS=$(echo "$out" | awk '{ print $4 }')
	T_RECV=${SINK_COUNT:-0}
	[ -n "$T_SENT" ] && [ -n "$T_NS" ]
}

# Flat out: delivered packets/s. Leaves the offered rates in $T/satoff and the
# CPU load of the last run in $T/cpu.last (callers run this in a subshell).
saturation() {
	local i
	: >"$T/sat"
	: >"$T/satoff"
	i=0
	while [ $i -lt $SAT_RUNS ]; do
		udp_trial 0 $TRIAL_MS || return 1
		echo $((T_RECV * 1000000000 / T_NS)) >>"$T/sat"
		echo $((T_SENT * 1000000000 / T_NS)) >>"$T/satoff"
		cpu_busy "$T/cpu.a" "$T/cpu.b" >"$T/cpu.last"
		i=$((i + 1))
	done
	median <"$T/sat"
}

# RFC 2544-style binary search for the highest offered rate with zero loss.
# The upper bound is what the generator can offer flat out. Not a multiple of
# the saturation throughput: a queue reader that shares its CPU with the
# receive softirq livelocks when offered far more than it can take (the
# softirq queues and drops while the reader starves), so it may deliver at
# saturation less than half of what it passes with zero loss.
zero_loss_once() {
	local lo hi mid i
	lo=0
	hi=$1
	i=0
	while [ $i -lt $ITERS ]; do
		mid=$(((lo + hi) / 2))
		if udp_trial $mid $TRIAL_MS && [ "$T_SENT" -gt 0 ] && [ "$T_RECV" -ge "$T_SENT" ]; then
			lo=$mid
		else
			hi=$mid
		fi
		i=$((i + 1))
	done
	echo $lo
}

zero_loss() {
	local i
	: >"$T/zl"
	i=0
	while [ $i -lt "$ZL_RUNS" ]; do
		zero_loss_once "$1" >>"$T/zl"
		i=$((i + 1))
	done
	median <"$T/zl"
}

# bench_udp KIND KEY [RUNS]: zero-loss rate and saturation throughput of one
# gateway, the zero-loss rate the median of RUNS searches (default $RUNS).
bench_udp() {
	local sat offered zl seen
	want "$2" || return 0
	ZL_RUNS=${3:-$RUNS}
	log "udp every-packet: $1"
	if ! gw_up "$1"; then
		put "sat.$2" "SKIP $GW_ERR"
		put "zl.$2" "SKIP $GW_ERR"
		log "  SKIP: $GW_ERR"
		return
	fi
	sat=$(saturation)
	if [ -z "$sat" ]; then
		put "sat.$2" "SKIP udp trial failed: $(tail -n1 "$T/sink.err" 2>/dev/null)"
		put "zl.$2" "SKIP udp trial failed"
		gw_down
		return
	fi
	offered=$(median <"$T/satoff")
	zl=$(zero_loss "$offered")
	seen=$(gw_received)
	case $1 in
	fwd-*)
		# CPU per packet: robust against a generator that others slow down
		put "cpp.$2" "$(awk -v n="$seen" -v hz="$(getconf CLK_TCK)" \
			'n > 0 { printf "%.2f", $1 / hz * 1e6 / n }' "$T/ticks" 2>/dev/null)"
		;;
	esac
	case $1 in
	fwd-*) put "shed.$2" "$(json_num '"shed' "$T/stats.json")" ;;
	esac
	case $1 in
	fwd-*-log*)
		# What the logger did: lines written, events suppressed / dropped.
		put "logw.$2" "$(json_num written "$T/stats.json")"
		put "logs.$2" "$(json_num suppressed "$T/stats.json")"
		put "logd.$2" "$(json_num '"log":{[^}]*"dropped' "$T/stats.json")"
		put "logl.$2" "$(wc -l <"$SHM/fwd.log" 2>/dev/null)"
		# the logger thread's CPU time per line written, user / system
		put "logus.$2" "$(awk -v n="$(json_num written "$T/stats.json")" -v hz="$(getconf CLK_TCK)" \
			'n > 0 { printf "%.2f / %.2f", $1 / hz * 1e6 / n, $2 / hz * 1e6 / n }' "$T/logticks" 2>/dev/null)"
		;;
	esac
	gw_down
	case $1 in
	bare | bare-* | fwd-*)
		if [ -z "$seen" ] || [ "$seen" -eq 0 ]; then
			put "sat.$2" "SKIP the queue reader saw no packets (received=${seen:-?}; $(tail -n1 "$T/bare.err" 2>/dev/null))"
			put "zl.$2" "SKIP the queue reader saw no packets"
			return
		fi
		;;
	esac
	put "sat.$2" "$sat"
	put "zl.$2" "$zl"
	put "offered.$2" "$offered"
	put "cpu.$2" "$(cat "$T/cpu.last" 2>/dev/null)"
	log "  zero-loss $zl pps, saturation $sat pps (generator offered $offered pps)"
}

# rotate N ARGS...: ARGS turned left N places.
rotate() {
	local n
	n=$(($1 % ($# - 1)))
	shift
	while [ "$n" -gt 0 ]; do
		set -- "$@" "$1"
		shift
		n=$((n - 1))
	done
	echo "$@"
}

# paired ROUNDS KIND:KEY...: in each round one zero-loss search of every
# gateway, back to back, the order turning by one each round. The machine's
# speed drifts by more than the effects the targets name, so those ratios are
# taken within a round (pratio) and their median reported, not a ratio of
# medians taken minutes apart. Each search starts from the row's flat-out rate.
paired() {
	local rounds r g kind key hi
	want paired || return 0
	rounds=$1
	shift
	: >"$T/paired"
	r=0
	while [ $r -lt "$rounds" ]; do
		log "paired zero-loss round $((r + 1)) of $rounds"
		for g in $(rotate $r "$@"); do
			kind=${g%%:*}
			key=${g#*:}
			hi=$(get "offered.$key")
			isnum "$hi" && gw_up "$kind" || continue
			echo "$r $key $(zero_loss_once "$hi")" >>"$T/paired"
			gw_down
		done
		r=$((r + 1))
	done
	for g in "$@"; do
		key=${g#*:}
		put "pzl.$key" "$(awk -v k="$key" '$2 == k { print $3 }' "$T/paired" | median)"
	done
	put pairedn "$rounds"
}

# per_round A B: each paired round's zero-loss rate of A / B, one a line.
per_round() {
	awk -v a="$1" -v b="$2" '$2 == a { x[$1] = $3 } $2 == b { y[$1] = $3 }
		END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' "$T/paired" 2>/dev/null
}

# pratio A B: the median over the paired rounds of A's zero-loss rate / B's.
# pratio A B [FORMAT]: the median of the per-round ratios, to two places
# unless FORMAT (printf) says otherwise: meets() is given them unrounded.
pratio() {
	local v
	v=$(per_round "$1" "$2" | median)
	if [ -n "$v" ]; then echo "$v" | awk -v f="${3:-%.2f}" '{ printf f "x", $1 }'; else echo "n/a"; fi
}

# prange A B: the lowest and highest of those per-round ratios.
prange() {
	per_round "$1" "$2" | sort -n |
		awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.2f-%.2f", lo, hi; else print "-" }'
}

# json_num KEY FILE: the number after "KEY": in FILE (KEY may be a regex).
json_num() {
	tr -d ' \n' <"$2" | sed -n "s/.*$1\":\([0-9]*\).*/\1/p"
}

# TCP connections/s through the gateway (median of RUNS).
bench_conn() {
	local i out v
	want "conn.$2" || return 0
	log "tcp connections/s: $1"
	if ! gw_up "$1"; then
		put "conn.$2" "SKIP $GW_ERR"
		log "  SKIP: $GW_ERR"
		return
	fi
	: >"$T/conn"
	i=0
	while [ $i -lt $RUNS ]; do
		sink_start accept 9100 || break
		out=$(nss taskset -c $GEN_CPU "$BIN/blast" connect $SNK 9100 $CONN_MS $CONN_PAR)
		sink_stop
		echo "$out" | awk '{ if ($6 > 0) printf "%d\n", $2 * 1e9 / $6 }' >>"$T/conn"
		i=$((i + 1))
	done
	gw_down
	v=$(median <"$T/conn")
	if [ -n "$v" ]; then
		put "conn.$2" "$v"
	else
		put "conn.$2" "SKIP connect loop failed"
	fi
	log "  $v conn/s"
}

# bench_synflood KIND KEY: a real client's connections to an open port
# (sink:9100, rule bench-tcp) while spoofed SYNs from 10.128.0.0/9 go flat
# out at ports the rules drop (23, 25, 8000-8099 are in them: telnet first).
# An attempt fails when it is not established within SYN_TIMEOUT_MS (with
# the client's SYN retransmits, after 1 s and 3 s). Puts the share that
# worked, the flood's rate and what fwd received.
bench_synflood() {
	local out tries ok fl q0 q1
	want "syn.$2" || return 0
	log "syn flood: $1 (receive work: ${RX:-shared})"
	if ! gw_up "$1"; then
		put "syn.$2" "SKIP $GW_ERR"
		log "  SKIP: $GW_ERR"
		return
	fi
	sink_start accept 9100 || { put "syn.$2" "SKIP no sink"; gw_down; return; }
	q0=$(gw_stat received)
	# not through nss(), a function: $! must be spoof itself, for the kill below
	ip netns exec "$NS_S" taskset -c $GEN_CPU "$BIN/spoof" $SNK 23 23 0 $((SYN_MS + 1000)) \
		10.128.0.0/9 >"$T/spoof.out" 2>"$T/spoof.err" &
	fl=$!
	track $fl
	sleep 0.5
	out=$(nss taskset -c $GEN_CPU "$BIN/blast" tries $SNK 9100 $SYN_TRIES $SYN_TIMEOUT_MS $SYN_PAR)
	kill -TERM $fl 2>/dev/null
	wait $fl
	untrack $fl
	q1=$(gw_stat received)
	sink_stop
	gw_down
	tries=$(echo "$out" | awk '{ print $2 }')
	ok=$(echo "$out" | awk '{ print $4 }')
	if ! isnum "$tries" || [ "$tries" -eq 0 ]; then
		put "syn.$2" "SKIP connection loop failed"
		return
	fi
	put "syn.$2" "$(echo "$ok $tries" | awk '{ printf "%.1f", 100 * $1 / $2 }')"
	put "synok.$2" "$ok / $tries"
	put "synpps.$2" "$(awk '{ if ($4 > 0) printf "%d", $2 * 1e9 / $4 }' "$T/spoof.out")"
	isnum "$q0" && isnum "$q1" && put "synq.$2" "$((q1 - q0))"
	log "  $ok of $tries connections worked, flood $(get "synpps.$2") pps, fwd received $(get "synq.$2")"
}

# gw_stat NAME: a counter from fwd stats --json (fwd gateways only).
gw_stat() {
	case $GW in
	fwd-*) "$FWD" stats --socket "$T/fwd.sock" --json 2>/dev/null |
		sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -n1 ;;
	esac
}

# Bulk TCP throughput in Mbit/s (iperf3, else blast bulk into sink drain).
bench_bulk() {
	local i srv v
	want "bulk.$2" || return 0
	log "tcp bulk: $1"
	if ! gw_up "$1"; then
		put "bulk.$2" "SKIP $GW_ERR"
		log "  SKIP: $GW_ERR"
		return
	fi
	: >"$T/bulk"
	i=0
	while [ $i -lt $RUNS ]; do
		if command -v iperf3 >/dev/null; then
			ip netns exec "$NS_K" taskset -c $GW_CPU iperf3 -s -1 -p 5201 \
				>/dev/null 2>&1 &
			srv=$!
			track $srv
			# A client that came too early or failed would leave the
			# one-shot server waiting for ever: wait until it listens,
			# bound the client, and stop the server whatever happened.
			wait_listen 5201 50
			nss timeout $((BULK_S + 15)) taskset -c $GEN_CPU \
				iperf3 -c $SNK -p 5201 -t $BULK_S -J 2>/dev/null |
				python3 -c 'import json, sys
print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' \
				>>"$T/bulk" 2>/dev/null
			kill -TERM $srv 2>/dev/null
			wait $srv 2>/dev/null
			untrack $srv
		else
			sink_start drain 5201 || break
			nss taskset -c $GEN_CPU "$BIN/blast" bulk $SNK 5201 $((BULK_S * 1000)) >/dev/null
			sleep 0.2
			sink_stop
			echo $((SINK_COUNT * 8 / BULK_S / 1000000)) >>"$T/bulk"
		fi
		i=$((i + 1))
	done
	gw_down
	v=$(median <"$T/bulk")
	if [ -n "$v" ]; then
		put "bulk.$2" "$v"
	else
		put "bulk.$2" "SKIP bulk transfer failed"
	fi
	log "  $v Mbit/s"
}

# Round trips at RATE through the gateway, both directions inspected.
bench_ping() {
	local i out
	log "latency at $3 pps: $1"
	if ! gw_up "$1"; then
		put "p50.$2" "SKIP $GW_ERR"
		put "p99.$2" "SKIP $GW_ERR"
		log "  SKIP: $GW_ERR"
		return
	fi
	: >"$T/p50"
	: >"$T/p99"
	i=0
	while [ $i -lt $RUNS ]; do
		sink_start echo 9001 || break
		out=$(nss taskset -c $GEN_CPU "$BIN/blast" ping $SNK 9001 "$3" $PING_MS)
		sink_stop
		echo "$out" | awk '$4 > 0 { print $6 }' >>"$T/p50"
		echo "$out" | awk '$4 > 0 { print $10 }' >>"$T/p99"
		i=$((i + 1))
	done
	gw_down
	put "p50.$2" "$(median <"$T/p50")"
	put "p99.$2" "$(median <"$T/p99")"
	log "  p50 $(get "p50.$2") us, p99 $(get "p99.$2") us"
}

# ---------------------------------------------------------------- report

isnum() { case $1 in '' | SKIP* | *[!0-9.]*) return 1 ;; esac; return 0; }
cell() {
	local v
	v=$(get "$1")
	if isnum "$v"; then echo "$v"; elif [ -n "$v" ]; then echo "$v"; else echo "SKIP not run"; fi
}
# A zero-loss rate, marked when the generator, not the gateway, was the limit.
zlcell() {
	local z o
	z=$(get "zl.$1")
	o=$(get "offered.$1")
	if isnum "$z" && isnum "$o" && [ $((z * 100)) -ge $((o * 95)) ]; then
		echo ">= $z (generator limit)"
	else
		cell "zl.$1"
	fi
}
# ratio A B [FORMAT]: A / B to two places (or as FORMAT says), or "n/a".
ratio() {
	local a b
	a=$(get "$1")
	b=$(get "$2")
	if isnum "$a" && isnum "$b" && [ "$(echo "$b" | awk '{ print ($1 > 0) }')" = 1 ]; then
		echo "$a $b" | awk -v f="${3:-%.2f}" '{ printf f "x", $1 / $2 }'
	else
		echo "n/a"
	fi
}
# verdict VALUE OP TARGET, on the value as measured: 0.699 is not 0.7
meets() {
	local v
	v=${1%x}
	# a difference may come out below zero when noise exceeds it
	isnum "${v#-}" || { echo "-"; return; }
	echo "$v $2 $3" | awk '{ ok = $2 == ">=" ? $1 >= $3 : $1 < $3; print ok ? "yes" : "NO" }'
}

report() {
	zl_note="highest offered rate with zero loss, median of $RUNS binary searches of $ITERS ${TRIAL_MS} ms trials"
	cat <<-EOF
	## End-to-end benchmark (tests/bench/e2e.sh$([ $QUICK = 1 ] && echo " --quick"))

	$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $NCPU CPUs, load average before the run $LOAD0,
	after $(cut -d' ' -f1-3 /proc/loadavg). sender -- gateway -- sink in network namespaces over veth.
	CPU $GEN_CPU: generator, sink, and their namespaces' receive work; CPU $GW_CPUS: the gateway, i.e. its
	receive work (steered there with RPS; veth would otherwise run it on the sending CPU) and the
	queue reader. 64-byte frames (18-byte UDP payload), $FLOWS flows.
	$([ -n "$SKIP_ALL" ] && echo "
	SKIP: $SKIP_ALL")

	### Every-packet mode, UDP

	| gateway | zero-loss pps | saturation pps (delivered) | generator flat out pps | CPU busy at saturation |
	|---|---|---|---|---|
	| fwd, 10 rules, 1 queue | $(zlcell fwd10) | $(cell sat.fwd10) | $(cell offered.fwd10) | $(cell cpu.fwd10) |
	| fwd, 10,000 rules, 1 queue | $(zlcell fwd10k) | $(cell sat.fwd10k) | $(cell offered.fwd10k) | $(cell cpu.fwd10k) |
	| bare NFQUEUE (one verdict per packet) | $(zlcell bare) | $(cell sat.bare) | $(cell offered.bare) | $(cell cpu.bare) |
	| kernel only, 10 iptables rules | $(zlcell k10) | $(cell sat.k10) | $(cell offered.k10) | $(cell cpu.k10) |
	| kernel only, 10,000 iptables rules | $(zlcell k10k) | $(cell sat.k10k) | $(cell offered.k10k) | $(cell cpu.k10k) |

	zero-loss: $zl_note. saturation: delivered packets/s with the generator flat out, median of
	$SAT_RUNS. CPU busy: both CPUs during the last flat-out run (CPU $GEN_CPU: generator, sink; CPU $GW_CPUS: gateway).

	### Logging every verdict (fwd, 10 rules, 1 queue, every packet, \`log: all\`)

	| log | zero-loss pps | saturation pps | zero-loss vs no log | saturation vs no log | fwd CPU us/packet | logger CPU us/line, user / system | lines written | suppressed | ring full |
	|---|---|---|---|---|---|---|---|---|---|
	| none | $(zlcell fwd10) | $(cell sat.fwd10) | 1.00x | 1.00x | $(cell cpp.fwd10) | - | - | - | - |
	| all, limit 10,000,000/s burst 1,000,000 | $(zlcell fwd10log) | $(cell sat.fwd10log) | $(ratio zl.fwd10log zl.fwd10) | $(ratio sat.fwd10log sat.fwd10) | $(cell cpp.fwd10log) | $(cell logus.fwd10log) | $(cell logw.fwd10log) | $(cell logs.fwd10log) | $(cell logd.fwd10log) |
	| all, default limit (10/s, burst 50) | $(zlcell fwd10logdef) | $(cell sat.fwd10logdef) | $(ratio zl.fwd10logdef zl.fwd10) | $(ratio sat.fwd10logdef sat.fwd10) | $(cell cpp.fwd10logdef) | $(cell logus.fwd10logdef) | $(cell logw.fwd10logdef) | $(cell logs.fwd10logdef) | $(cell logd.fwd10logdef) |

	Lines go to a file in a tmpfs (daemon log sink: file), formatted key=value by fwd's
	logger thread, which shares the gateway CPU with the worker. Counts are from \`fwd stats\`
	at the end of each row (all trials); zero-loss is the median of $VAR_RUNS searches. fwd CPU
	us/packet: fwd's user + system time over the whole row / packets it received (system time includes
	the forwarding the kernel does inside the verdict's sendto(), and, without
	CONFIG_IRQ_TIME_ACCOUNTING, softirq work that ran while fwd was current); unlike the rates
	it does not depend on how fast the generator, which shares its CPU, could offer, but it
	moves with how often softirq work lands on fwd rather than on the idle task. Logger CPU
	per line: the fwd-log thread's own user and system time (its /proc/PID/task entry) over the
	row / lines written; its system time carries the same softirq share as fwd's.

	### What each queue setting buys (bare NFQUEUE loop, one setting changed at a time)

	| loop | zero-loss pps | saturation pps | saturation vs previous row |
	|---|---|---|---|
	| one verdict per packet, headers only (128 B), 8 MiB rcvbuf | $(zlcell bare) | $(cell sat.bare) | |
	| + one batch verdict per burst (up to 64) | $(zlcell bareb) | $(cell sat.bareb) | $(ratio sat.bareb sat.bare) |
	| batch, but whole packets copied (65535 B) | $(zlcell barebf) | $(cell sat.barebf) | $(ratio sat.barebf sat.bareb) vs batch |
	| batch, but 256 KiB rcvbuf | $(zlcell barebr) | $(cell sat.barebr) | $(ratio sat.barebr sat.bareb) vs batch |

	fwd's queue uses batch verdicts, a 256-byte copy range and an 8 MiB rcvbuf.

	### Queues (fwd, 10 rules, every packet)

	| queues | zero-loss pps | saturation pps |
	|---|---|---|
	| 1 | $(zlcell fwd10) | $(cell sat.fwd10) |
	| 2 | $(zlcell fwdq2) | $(cell sat.fwdq2) |
	| N = $NCPU | $(zlcell fwdqN) | $(cell sat.fwdqN) |

	### Receive work on the reader's CPU or on another (fwd, 10 rules, every packet, UDP)

	| gateway | receive work | zero-loss pps | flat-out delivered pps | generator flat out pps | delivered / zero-loss | shed before the queue |
	|---|---|---|---|---|---|---|
	| fwd | the reader's CPU (the rows above) | $(zlcell fwd10) | $(cell sat.fwd10) | $(cell offered.fwd10) | $(ratio sat.fwd10 zl.fwd10) | $(cell shed.fwd10) |
	| fwd | another CPU | $(zlcell fwd10own) | $(cell sat.fwd10own) | $(cell offered.fwd10own) | $(ratio sat.fwd10own zl.fwd10own) | $(cell shed.fwd10own) |
	| bare NFQUEUE loop | the reader's CPU (the rows above) | $(zlcell bare) | $(cell sat.bare) | $(cell offered.bare) | $(ratio sat.bare zl.bare) | - |
	| bare NFQUEUE loop | another CPU | $(zlcell bareown) | $(cell sat.bareown) | $(cell offered.bareown) | $(ratio sat.bareown zl.bareown) | - |

	The receive work is the gateway's softirq (RPS on its two veths). On another CPU: CPU
	$([ "$NCPU" -gt 2 ] && echo "$((NCPU - 1))" || echo "$GEN_CPU"), $([ "$NCPU" -gt 2 ] && echo "a CPU of its own" || echo "the generator's, which then offers less").
	Shed before the queue: packets fwd's overload gate (FWD-GATE, \`daemon: shed\`) dropped
	over the row's trials, from \`fwd stats\`.

	### SYN flood at dropped ports (fwd, 10 rules, new connections queued)

	| receive work | connections that worked | share | spoofed SYNs/s | packets fwd judged |
	|---|---|---|---|---|
	| the reader's CPU | $(cell synok.fwd10) | $(cell syn.fwd10)% | $(cell synpps.fwd10) | $(cell synq.fwd10) |
	| another CPU | $(cell synok.fwd10own) | $(cell syn.fwd10own)% | $(cell synpps.fwd10own) | $(cell synq.fwd10own) |

	tests/bench/spoof sends SYNs from random sources of 10.128.0.0/9 to port 23 (rule
	drop-telnet) flat out, from the generator's CPU, while \`blast tries\` makes $SYN_TRIES connections
	to the sink's open port 9100, $SYN_PAR in flight; one that is not established within
	$SYN_TIMEOUT_MS ms (the client retransmits its SYN after 1 s) failed.

	### Stateful mode (new connections queued), TCP

	| measurement | fwd 10 rules | fwd 10,000 rules | kernel 10 rules | kernel 10,000 rules |
	|---|---|---|---|---|
	| new connections/s ($CONN_PAR in flight) | $(cell conn.fwd10) | $(cell conn.fwd10k) | $(cell conn.k10) | $(cell conn.k10k) |
	| bulk TCP Mbit/s | $(cell bulk.fwd10) | - | $(cell bulk.k10) | - |
	| bulk TCP Mbit/s, every-packet mode | $(cell bulk.fwd10e) | - | $(cell bulk.k10e) | - |

	### Latency (UDP echo, $(cell pingrate) requests/s: requests and replies both through the gateway)

	| path | RTT p50 us | RTT p99 us |
	|---|---|---|
	| fwd, 10 rules, every packet | $(cell p50.fwd) | $(cell p99.fwd) |
	| bare NFQUEUE loop, batch verdicts | $(cell p50.bare) | $(cell p99.bare) |
	| kernel only, 10 rules | $(cell p50.k) | $(cell p99.k) |
	| added per packet by fwd (fwd - kernel) / 2 traversals | $(cell p50.added) | $(cell p99.added) |
	| added per packet by the bare loop (bare - kernel) / 2 | $(cell p50.addedbare) | $(cell p99.addedbare) |

	Each row's p50 and p99 are medians over $RUNS runs of ${PING_MS} ms. Gateway processes are pinned
	to CPU $GW_CPU; the load average above says how much else competed for it.

	### Paired zero-loss rounds

	$(cell pairedn) rounds; in each, one zero-loss search ($ITERS ${TRIAL_MS} ms trials) of every gateway
	below, back to back, the order turning by one each round. Zero-loss pps are the medians of
	the rounds; the target ratios are the median of the per-round ratios (range in brackets).

	| bare NFQUEUE (one verdict per packet) | fwd, 10 rules | fwd, 10,000 rules | fwd, 10 rules, logging every verdict |
	|---|---|---|---|
	| $(cell pzl.bare) | $(cell pzl.fwd10) | $(cell pzl.fwd10k) | $(cell pzl.fwd10log) |

	### Ratios against the targets

	| ratio | value | target | met |
	|---|---|---|---|
	| fwd 10k rules / bare, zero-loss, paired rounds | $(pratio fwd10k bare) ($(prange fwd10k bare)) | >= 1.0x | $(meets "$(pratio fwd10k bare %.6f)" ">=" 1.0) |
	| fwd 10k rules / bare, zero-loss, rows above | $(ratio zl.fwd10k zl.bare) | | |
	| fwd 10k rules / bare, saturation | $(ratio sat.fwd10k sat.bare) | | |
	| fwd 10k / 10 rules, zero-loss, paired rounds | $(pratio fwd10k fwd10) ($(prange fwd10k fwd10)) | >= 0.95x | $(meets "$(pratio fwd10k fwd10 %.6f)" ">=" 0.95) |
	| fwd 10k / 10 rules, zero-loss, rows above | $(ratio zl.fwd10k zl.fwd10) | | |
	| fwd 10k / 10 rules, saturation | $(ratio sat.fwd10k sat.fwd10) | | |
	| fwd / kernel, 10 rules, zero-loss | $(ratio zl.fwd10 zl.k10) | | |
	| fwd / kernel, 10k rules, zero-loss | $(ratio zl.fwd10k zl.k10k) | | |
	| fwd / kernel, new connections/s, 10 rules | $(ratio conn.fwd10 conn.k10) | >= 0.8x | $(meets "$(ratio conn.fwd10 conn.k10 %.6f)" ">=" 0.8) |
	| fwd / kernel, new connections/s, 10k rules | $(ratio conn.fwd10k conn.k10k) | >= 0.8x | $(meets "$(ratio conn.fwd10k conn.k10k %.6f)" ">=" 0.8) |
	| fwd / kernel, bulk TCP | $(ratio bulk.fwd10 bulk.k10) | >= 0.9x | $(meets "$(ratio bulk.fwd10 bulk.k10 %.6f)" ">=" 0.9) |
	| p99 added latency per packet, us | $(cell p99.added) | < 100 | $(meets "$(cell p99.added)" "<" 100) |
	| fwd logging every verdict / no log, zero-loss, paired rounds | $(pratio fwd10log fwd10) ($(prange fwd10log fwd10)) | >= 0.90x | $(meets "$(pratio fwd10log fwd10 %.6f)" ">=" 0.90) |
	| fwd logging every verdict / no log, zero-loss, rows above | $(ratio zl.fwd10log zl.fwd10) | | |
	| fwd logging every verdict / no log, saturation | $(ratio sat.fwd10log sat.fwd10) | | |
	| fwd CPU per packet, no log / logging every verdict | $(ratio cpp.fwd10 cpp.fwd10log) | | |
	| fwd zero-loss, receive work on the reader's CPU / on another | $(ratio zl.fwd10 zl.fwd10own) | >= 0.5x | $(meets "$(ratio zl.fwd10 zl.fwd10own %.6f)" ">=" 0.5) |
	| fwd flat-out delivered / zero-loss, receive work on the reader's CPU | $(ratio sat.fwd10 zl.fwd10) | >= 0.7x | $(meets "$(ratio sat.fwd10 zl.fwd10 %.6f)" ">=" 0.7) |
	| SYN flood: real connections that worked, receive work on the reader's CPU, % | $(cell syn.fwd10) | >= 90 | $(meets "$(cell syn.fwd10)" ">=" 90) |
	| SYN flood: real connections that worked, receive work on another CPU, % | $(cell syn.fwd10own) | >= 90 | $(meets "$(cell syn.fwd10own)" ">=" 90) |
	EOF
}

# ---------------------------------------------------------------- main

# Nothing can run: one reason at the top, SKIP in every cell.
skip_all() {
	SKIP_ALL=$1
	for k in zl.fwd10 sat.fwd10 zl.fwd10k sat.fwd10k zl.bare sat.bare zl.k10 sat.k10 \
		zl.k10k sat.k10k zl.fwdq2 sat.fwdq2 zl.fwdqN sat.fwdqN conn.fwd10 conn.fwd10k \
		conn.k10 conn.k10k bulk.fwd10 bulk.k10 bulk.fwd10e bulk.k10e p50.fwd p99.fwd \
		p50.k p99.k p50.added p99.added pingrate zl.fwd10log sat.fwd10log zl.fwd10logdef \
		sat.fwd10logdef zl.bareb sat.bareb zl.barebf sat.barebf zl.barebr sat.barebr \
		pzl.bare pzl.fwd10 pzl.fwd10k pzl.fwd10log pairedn zl.fwd10own sat.fwd10own \
		zl.bareown sat.bareown syn.fwd10 syn.fwd10own synok.fwd10 synok.fwd10own; do
		put "$k" "SKIP"
	done
}

# The rows of tests/bench/queues.sh: one per count of E2E_QUEUES.
queues_report() {
	local q
	printf '\n### Queues: %s (fwd, 10 rules, every packet; gateway CPUs %s of %s)\n\n' \
		"${E2E_QUEUES}" "$GW_CPUS" "$NCPU"
	echo "| queues | zero-loss pps | saturation pps |"
	echo "|---|---|---|"
	for q in $E2E_QUEUES; do
		echo "| $q | $(zlcell "q$q") | $(cell "sat.q$q") |"
	done
}

finish() {
	mkdir -p "$B/bench"
	report >"$T/report.md"
	[ -z "${E2E_QUEUES:-}" ] || queues_report >>"$T/report.md"
	cp "$T/report.md" "$OUT"
	cat "$T/report.md"
	echo "e2e: written to $OUT" >&2
}

main() {
	mkdir -p "$B/bench"
	if [ "$(id -u)" != 0 ]; then
		skip_all "not root"
		finish
		return 0
	fi
	for p in blast sink nfq_bare; do
		if [ ! -x "$BIN/$p" ]; then
			skip_all "$BIN/$p not built (make B=$B bench)"
			finish
			return 0
		fi
	done
	if ! setup_net 2>"$T/net.err"; then
		skip_all "no network namespaces: $(head -n1 "$T/net.err")"
		finish
		return 0
	fi
	make_rulesets
	start=$(date +%s)
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

	bench_udp kernel-10 k10
	bench_udp kernel-10000 k10k
	bench_udp bare bare
	bench_udp fwd-10-q1 fwd10
	bench_udp fwd-10000-q1 fwd10k
	bench_udp fwd-10-q2 fwdq2
	# What logging every verdict costs (10 rules, 1 queue, file on a tmpfs).
	bench_udp fwd-10-logall-q1 fwd10log $VAR_RUNS
	bench_udp fwd-10-logdef-q1 fwd10logdef $VAR_RUNS
	# What each queue setting buys, one at a time, on the bare loop.
	bench_udp bare-batch bareb $VAR_RUNS
	bench_udp bare-batch-full barebf $VAR_RUNS
	bench_udp bare-batch-rcv256k barebr $VAR_RUNS
	# The target ratios, from rounds that measure their gateways back to back.
	paired "${E2E_PAIRED_ROUNDS:-$PAIRED}" bare:bare fwd-10-q1:fwd10 fwd-10000-q1:fwd10k fwd-10-logall-q1:fwd10log
	if [ "$NCPU" -gt 2 ]; then
		bench_udp "fwd-10-q$NCPU" fwdqN
	elif [ "$NCPU" = 2 ]; then
		put zl.fwdqN "same as 2 queues (N = 2)"
		put sat.fwdqN "same as 2 queues (N = 2)"
	else
		put zl.fwdqN "same as 1 queue (N = 1)"
		put sat.fwdqN "same as 1 queue (N = 1)"
	fi

	# The receive work on a CPU other than the reader's (the rows above share it).
	RX=own bench_udp fwd-10-q1 fwd10own
	RX=own bench_udp bare bareown
	RX=shared bench_synflood fwd-10-stateful-q1 fwd10
	RX=own bench_synflood fwd-10-stateful-q1 fwd10own

	# tests/bench/queues.sh: fwd with each count of E2E_QUEUES (rows qQ).
	for q in ${E2E_QUEUES:-}; do
		bench_udp "fwd-10-q$q" "q$q"
	done

	bench_conn fwd-10-stateful-q1 fwd10
	bench_conn fwd-10000-stateful-q1 fwd10k
	bench_conn kernel-10-stateful k10
	bench_conn kernel-10000-stateful k10k
	bench_bulk fwd-10-stateful-q1 fwd10
	bench_bulk kernel-10-stateful k10
	bench_bulk fwd-10-q1 fwd10e
	bench_bulk kernel-10 k10e

	# Latency with the gateway at half fwd's zero-loss rate (the kernel's when
	# fwd has none): echo requests and replies both pass it, so a quarter each.
	zl=$(get zl.fwd10)
	isnum "$zl" || zl=$(get zl.k10)
	if ! want ping; then
		:
	elif isnum "$zl" && [ "$zl" -gt 0 ]; then
		rate=$((zl / 4))
		[ $rate -gt $PING_MAX ] && rate=$PING_MAX
		[ $rate -lt 1000 ] && rate=1000
		put pingrate "$rate"
		bench_ping fwd-10-q1 fwd $rate
		bench_ping kernel-10 k $rate
		# The same queue round trip with nothing of fwd in it: no rules, no
		# logger thread, no RCU; what fwd adds beyond it is fwd's own.
		bench_ping bare-batch bare $rate
		for p in p50 p99; do
			k=$(get $p.k)
			for g in fwd bare; do
				f=$(get $p.$g)
				if isnum "$f" && isnum "$k"; then
					put $p.added${g#fwd} "$(echo "$f $k" | awk '{ printf "%.1f", ($1 - $2) / 2 }')"
				else
					put $p.added${g#fwd} "SKIP needs both $g and kernel"
				fi
			done
		done
	else
		skip_all_ping="no zero-loss rate to take half of"
		for k in p50.fwd p99.fwd p50.k p99.k p50.added p99.added pingrate p50.bare p99.bare \
		p50.addedbare p99.addedbare; do
			put $k "SKIP $skip_all_ping"
		done
	fi
	log "done in $(($(date +%s) - start)) s"
	finish
}

main
