#!/bin/bash
# SPDX-License-Identifier: MIT
# inside.sh TRANSCRIPT - run by fwd-system-test.service inside the booted
# container (tests/system/run.sh): installs /share/fwd.deb and drives fwd
# with systemctl as an operator would. Every step is written to TRANSCRIPT
# with what systemd reported; "ok ..." and "FAIL ..." lines judge it, and
# "RESULT" ends it.

OUT=${1:-/share/transcript}
# The test reboots the container once (run.sh boots it again); this file
# carries the count of failures over, and says which boot this is.
REBOOTED=/var/lib/fwd-system-test.rebooted
if [ -e $REBOOTED ]; then
	exec >>"$OUT" 2>&1
	FAILS=$(cat $REBOOTED)
else
	exec >"$OUT" 2>&1
	FAILS=0
fi
RULES=/etc/fwd/rules.yaml
PROM=/var/lib/prometheus/node-exporter/fwd.prom

step() { printf '\n== %s\n' "$*"; }
ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# Show a command and its output, indented; returns its exit status.
run() {
	local rc
	echo "\$ $*"
	"$@" >/tmp/run.out 2>&1
	rc=$?
	sed 's/^/    /' /tmp/run.out
	[ $rc = 0 ] || echo "    (exit $rc)"
	return $rc
}
prop() { systemctl show -P "$1" fwd.service; }
state() {
	echo "  systemd: $(systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts \
		-p Result -p WatchdogUSec fwd.service | tr '\n' ' ')"
}
# Wait up to $1 tenths of a second for "$2..." to succeed.
wait_for() {
	local n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
hooks() { { iptables-save; ip6tables-save; } 2>/dev/null | grep -c NFQUEUE; }
nohooks() { [ "$(hooks)" = 0 ]; }
# Count the hooks over and over while a command runs, one line per look.
hooks_during() {	# TRACE COMMAND...
	local trace=$1 poller rc
	shift
	rm -f /tmp/hooks.done
	(while [ ! -e /tmp/hooks.done ]; do hooks; done) >"$trace" &
	poller=$!
	sleep 0.3
	run "$@"
	rc=$?
	sleep 0.3
	touch /tmp/hooks.done
	wait $poller
	echo "  hooks counted $(wc -l <"$trace") times: $(sort -n "$trace" | uniq -c | awk '{ printf "%s%d x %d", n++ ? ", " : "", $1, $2 }')"
	return $rc
}
active() { [ "$(prop ActiveState)" = active ]; }
bridge_rules() { ebtables-nft -t nat -L PREROUTING | grep -c -- "--mark-or 0x80000000"; }

rules() {
	cat <<YAML
version: 1
default: drop
log: drops
daemon:
  metrics: {file: $PROM, interval: 1}
  rpfilter: strict
  bridged: pass
rules:
  - name: ssh
    proto: tcp
    dport: 22
    action: allow
$1
tests:
  - {packet: "tcp 203.0.113.9:40000 198.51.100.7:22", expect: allow ssh}
YAML
}

# The second boot: fwd came up with the boot, ahead of the network, with
# the block it saved when the reboot stopped it; then the package goes.
after_reboot() {
	step "after the reboot"
	# This unit may run while fwd is still starting: multi-user.target does
	# not wait for a unit without default dependencies.
	check "fwd is active (within 10 s)" wait_for 100 active
	state
	local fwd_up net_pre
	fwd_up=$(prop ActiveEnterTimestampMonotonic)
	net_pre=$(systemctl show -P ActiveEnterTimestampMonotonic network-pre.target)
	echo "  active at (monotonic us): fwd.service $fwd_up, network-pre.target $net_pre"
	check "fwd was up (READY=1, hooks in) before network-pre.target was reached" \
		eval '[ "$fwd_up" -gt 0 ] && [ "$net_pre" -gt 0 ] && [ "$fwd_up" -le "$net_pre" ]'
	check "its hooks are in the kernel" [ "$(hooks)" -gt 0 ]
	local nfp fwd_start
	nfp=$(systemctl show -P ActiveEnterTimestampMonotonic netfilter-persistent.service)
	fwd_start=$(prop ExecMainStartTimestampMonotonic)
	check "netfilter-persistent restored the operator's rules before fwd started ($nfp <= $fwd_start)" \
		eval '[ "$nfp" -gt 0 ] && [ "$nfp" -le "$fwd_start" ]'
	check "so the boot took none of fwd's hooks, and the operator's rule is there" sh -c \
		'fwd stats --json | grep -q "\"hooks\":{\"restored\":0}" &&
		iptables-save -t mangle | grep -q -- "--dport 9 -j MARK"'
	check "the block of 10.99.0.9 came back (saved at the shutdown)" sh -c \
		'fwd stats | grep -q "^    10.99.0.9 "'
	check "the state file still holds it (a crash now loses nothing)" \
		grep -q '^scanners 10\.99\.0\.9 ' /var/lib/fwd/dynamic-sets
	run sh -c 'journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd | grep "state:"'

	step "remove: dpkg -r fwd while it runs"
	check "dpkg -r succeeds" run dpkg -r fwd
	echo "  is-active: $(systemctl is-active fwd)"
	check "no fwd process is left" wait_for 50 sh -c '! pidof fwd'
	check "its hooks are gone" nohooks
	check "its bridge rules are gone" [ "$(bridge_rules)" = 0 ]
	check "/etc/fwd/rules.yaml stays (a conffile)" test -f $RULES

	step "purge: dpkg -P fwd"
	check "dpkg -P succeeds" run dpkg -P fwd
	check "/etc/fwd and /var/lib/fwd are gone" sh -c '[ ! -e /etc/fwd ] && [ ! -e /var/lib/fwd ]'
	run dpkg -s fwd
}

step "boot"
# Not --wait: this unit is itself part of the boot it would wait for.
echo "  systemctl is-system-running: $(systemctl is-system-running)"
echo "  $(systemd --version | head -n 1)"
if [ -e $REBOOTED ]; then
	after_reboot
	printf '\nRESULT %s\n' "$([ $FAILS = 0 ] && echo pass || echo "$FAILS failed")"
	exit 0
fi

step "install: dpkg -i fwd.deb (not enabled, not started: the operator decides)"
check "dpkg -i succeeds" run dpkg -i /share/fwd.deb
echo "  is-enabled: $(systemctl is-enabled fwd)  is-active: $(systemctl is-active fwd)"
check "the package does not start fwd on a first install" [ "$(systemctl is-active fwd)" != active ]
check "/etc/fwd/rules.yaml is a conffile" grep -qx /etc/fwd/rules.yaml /var/lib/dpkg/info/fwd.conffiles
# Every directive known to this systemd, every command there (no warning).
check "systemd-analyze verify finds nothing in the installed unit" sh -c \
	'systemd-analyze verify --man=no fwd.service >/tmp/verify.out 2>&1 && [ ! -s /tmp/verify.out ]'
sed 's/^/    /' /tmp/verify.out

step "rules with node_exporter's textfile directory as metrics file"
rules >$RULES
run fwd check $RULES

step "systemctl enable --now fwd"
check "enable --now succeeds" run systemctl enable --now fwd
state
check "fwd is active (Type=notify: READY=1 came)" active
check "fwd's hooks are in the kernel" [ "$(hooks)" -gt 0 ]
check "with the reverse path check (rpfilter: strict), made from the unit's sandbox" sh -c \
	'iptables-save -t mangle | grep -q -- "-m rpfilter --invert .*fwd-rpfilter -j DROP" &&
	 ip6tables-save -t mangle | grep -q -- "-m rpfilter --invert .*fwd-rpfilter -j DROP"'
check "with the bridge rules of bridged: pass (ebtables-nft), made from the unit's sandbox" \
	[ "$(bridge_rules)" = 2 ]
run ebtables-nft -t nat -F
check "after ebtables -t nat -F, fwd's look at its hooks puts them back from the sandbox too" \
	wait_for 100 eval '[ "$(bridge_rules)" = 2 ]'
pid=$(prop MainPID)
run fwd stats

step "systemctl reload fwd (a new rule)"
rules "  - {name: web, proto: tcp, dport: 8080, action: allow}" >$RULES
check "reload succeeds" run systemctl reload fwd
state
check "the new rule is in force when systemctl reload returns" sh -c 'fwd stats | grep -q "^web "'
check "same process after reload" [ "$(prop MainPID)" = "$pid" ]
fwd stats | grep '^reloads:' | sed 's/^/  /'

step "a bad rules file: systemctl reload fwd"
cp $RULES /tmp/good.yaml
printf 'version: 1\nrules:\n  - {name: x, proto: tcp, dport: 99999, action: allow}\n' >$RULES
check "reload of a bad file fails" eval '! run systemctl reload fwd'
state
check "fwd stays active" active
check "same process" [ "$(prop MainPID)" = "$pid" ]
check "the old rules stay in force" sh -c 'fwd stats | grep -q "^web "'
cp /tmp/good.yaml $RULES

# FWD-HAIRPIN's MASQUERADE and its change on an address event, made by the
# daemon inside the unit's sandbox (no module loading of its own, seccomp).
step "a forward rule: NAT loopback for the gateway's prefixes"
hairpin() { iptables-save -t nat | grep -q -- "^-A FWD-HAIRPIN -s $1 -d $1 .*-j MASQUERADE"; }
run ip link add fwd-lan type veth peer name fwd-lan-peer
run ip addr add 10.99.0.1/24 dev fwd-lan
rules "  - {name: web, proto: tcp, dport: 8080, action: allow}
  - {name: dmz, proto: tcp, dst: 10.99.0.1, dport: 8081, action: forward, to: 10.99.0.5:80}" >$RULES
check "reload with a forward rule succeeds" run systemctl reload fwd
check "FWD-HAIRPIN masquerades the link's prefix" wait_for 30 hairpin 10.99.0.0/24
run ip addr add 10.98.0.1/24 dev fwd-lan
check "an address added later gets its line, without a reload" wait_for 50 hairpin 10.98.0.0/24
run sh -c 'iptables-save -t nat | grep FWD-HAIRPIN'
check "same process" [ "$(prop MainPID)" = "$pid" ]

step "a peer on fwd-lan, in a namespace of its own"
run ip netns add peer
run ip link set fwd-lan-peer netns peer
run ip link set fwd-lan up
run ip -n peer addr add 10.99.0.2/24 dev fwd-lan-peer
run ip -n peer link set fwd-lan-peer up
run ip -n peer link set lo up
# IPv6 as well, with ordinary duplicate address detection and neighbour
# discovery through fwd's hooks.
run ip addr add fd99::1/64 dev fwd-lan
run ip -n peer addr add fd99::2/64 dev fwd-lan-peer
check "both IPv6 addresses pass duplicate address detection" wait_for 100 sh -c \
	'! ip addr show dev fwd-lan | grep -q tentative && ! ip -n peer addr show | grep -q tentative'

# fwd answers a reject itself, on raw sockets: the unit's sandbox must let
# those packets out. An IP address filter on the unit (IPAddressDeny=, a
# cgroup BPF program) fails every answer with EPERM, and the peer waits for
# a SYN-ACK that never comes. The first check shows that this systemd does
# enforce such filters (run.sh lets the container use bpf()).
step "a reject rule answers the peer (TCP reset, ICMP port unreachable)"
check "systemd enforces IPAddressDeny= here: a unit with =any cannot send" eval \
	"! run systemd-run --wait --quiet -p IPAddressDeny=any bash -c 'echo x >/dev/udp/10.99.0.2/9'"
rules "  - {name: no-7001, proto: tcp, dport: 7001, action: reject}
  - {name: no-7002, proto: udp, dport: 7002, action: reject}" >$RULES
check "reload with reject rules succeeds" run systemctl reload fwd
check "the rules are in force" wait_for 30 sh -c 'fwd stats | grep -q "^no-7001 "'
run ip netns exec peer timeout 3 bash -c 'exec 3<>/dev/tcp/10.99.0.1/7001'
check "a connection to :7001 is refused at once (a reset, not 3 s of silence)" \
	grep -q "Connection refused" /tmp/run.out
run ip netns exec peer timeout 3 bash -c 'exec 3<>/dev/udp/10.99.0.1/7002; echo x >&3; sleep 0.5; echo y >&3'
check "a datagram to :7002 gets a port unreachable (the next write is refused)" \
	grep -q "Connection refused" /tmp/run.out
run ip netns exec peer timeout 3 bash -c 'exec 3<>/dev/tcp/fd99::1/7001'
check "over IPv6 too: a connection to [fd99::1]:7001 is refused at once" \
	grep -q "Connection refused" /tmp/run.out
run fwd stats --json
check "every reject was answered" sh -c '! grep -Eq "\"unanswered\":[1-9]" /tmp/run.out'

# The CrowdSec thread's HTTP to the LAPI, from inside the unit's sandbox
# (address families, seccomp, no address filter). The LAPI is Debian's
# crowdsec in the peer's namespace; a decision added with cscli must reach
# fwd's set.
step "CrowdSec: fwd pulls the LAPI's decisions from inside the sandbox"
CSB=/crowdsec/usr/bin
if [ ! -x $CSB/crowdsec ]; then
	echo "SKIP this step: no crowdsec to run (build/debs/crowdsec, which tests/e2e/test_crowdsec.sh unpacks, is missing)"
else
	CS=/tmp/cs
	. /share/crowdsec_lapi.sh
	crowdsec_lapi_dir $CS /crowdsec
	csp() { ip netns exec peer $CSB/cscli -c $CS/config.yaml "$@"; }
	ip netns exec peer $CSB/crowdsec -c $CS/config.yaml -no-cs >/tmp/crowdsec.log 2>&1 &
	lapi=$!
	check "the LAPI answers on 10.99.0.2:8080" wait_for 300 sh -c \
		'curl -s -o /dev/null -w "%{http_code}" http://10.99.0.2:8080/v1/decisions | grep -q "^[1-5]"'
	run csp machines add cli --password cli-password-12345 -f $CS/local_api_credentials.yaml
	(umask 077; csp bouncers add fwd -o raw >/etc/fwd/crowdsec.key)
	rules "  - {name: crowdsec, src: \$crowdsec, action: drop}
  - {name: web, proto: tcp, dport: 8080, action: allow}
dynamic:
  crowdsec: {timeout: 1h}
crowdsec: {url: \"http://10.99.0.2:8080\", key_file: /etc/fwd/crowdsec.key, set: crowdsec, interval: 1s}" >$RULES
	check "reload with crowdsec: succeeds" run systemctl reload fwd
	check "cscli decisions add --ip 10.99.0.7 succeeds" run csp decisions add --ip 10.99.0.7 --duration 10m
	check "the decision reaches fwd's set" wait_for 100 sh -c 'fwd stats | grep -q "^    10.99.0.7 "'
	check "no pull failed" sh -c 'fwd stats --json | grep -q "\"pull_errors\":0"'
	# A reload makes the state file due; the LAPI's decisions stay out of it.
	touch /tmp/reload.mark
	check "reload again succeeds" run systemctl reload fwd
	check "the state file is written after the reload, without the CrowdSec set" sh -c \
		'for i in $(seq 80); do
			find /var/lib/fwd/dynamic-sets -newer /tmp/reload.mark | grep -q . && break
			sleep 0.1
		done
		find /var/lib/fwd/dynamic-sets -newer /tmp/reload.mark | grep -q . &&
		! grep -q "^crowdsec " /var/lib/fwd/dynamic-sets'
	fwd stats | grep -i -A2 crowdsec | sed 's/^/  /'
	kill $lapi
	wait $lapi 2>/dev/null
fi

# A blocked source's established connection marked (fwd/recheck.c): the
# daemon dumps and updates the conntrack table from inside the sandbox.
step "a scanner's established connection goes back to the rules"
rules "  - {name: scanners, src: \$scanners, action: drop}
  - {name: web, proto: tcp, dport: 8080, action: allow}
  - {name: metrics, proto: tcp, dport: 9100, action: allow}
dynamic:
  scanners: {timeout: 10m}
scan: {ports: 20, window: 30s, block: {set: scanners}}" >$RULES
check "reload with a blocking set succeeds" run systemctl reload fwd
check "FWD-QUEUE queues marked connections" wait_for 30 sh -c \
	'iptables-save -t mangle | grep -q -- "-m connmark ! --mark 0x40000000/0x40000000 -j RETURN"'
# An established connection from 10.99.0.2, held open by a shell.
ip netns exec peer bash -c 'exec 3<>/dev/tcp/10.99.0.1/9100 && sleep 60' &
held=$!
check "the peer's connection to :9100 is open" wait_for 50 sh -c \
	'ss -Htn state established "( sport = :9100 )" | grep -q 10.99.0.2'
for p in $(seq 1001 1021); do
	ip netns exec peer timeout 0.3 bash -c "exec 3<>/dev/tcp/10.99.0.1/$p" 2>/dev/null
done
check "the scan blocked 10.99.0.2" wait_for 30 sh -c 'fwd stats | grep -q "10.99.0.2"'
check "fwd marked its established connection" wait_for 30 sh -c \
	'fwd stats --json | grep -Eq "\"rechecked\":[1-9]"'
run sh -c 'journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd | grep recheck'
kill $held 2>/dev/null
check "same process" [ "$(prop MainPID)" = "$pid" ]

step "watchdog"
wd=$(prop WatchdogUSec)
echo "  WatchdogUSec=$wd"
check "the watchdog is armed" eval '[ "$wd" != 0 ] && [ "$wd" != infinity ]'
t1=$(prop WatchdogTimestampMonotonic)
sleep 1.5
t2=$(prop WatchdogTimestampMonotonic)
echo "  WatchdogTimestampMonotonic: $t1 then $t2 (1.5 s later)"
check "WATCHDOG=1 keeps coming (the timestamp moves)" [ "$t2" -gt "$t1" ]

# RestartKillSignal=SIGQUIT: the old process leaves its hooks to the new
# one, so nothing passes unjudged between the two.
step "systemctl restart fwd: the hooks stay between the two processes"
pid=$(prop MainPID)
before=$(hooks)
check "restart succeeds" hooks_during /tmp/restart.trace systemctl restart fwd
state
check "a new process" sh -c '[ "$(systemctl show -P MainPID fwd)" != '"$pid"' ] && [ "$(systemctl show -P ActiveState fwd)" = active ]'
check "the hooks were there at every look (10 at least)" sh -c \
	'[ "$(wc -l </tmp/restart.trace)" -ge 10 ] && ! grep -qx 0 /tmp/restart.trace'
check "the old process said so" sh -c 'journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd | grep -q "stopped for a restart: the hooks stay"'
check "the hooks are there once ($before queue rules)" [ "$(hooks)" = "$before" ]
check "the scan's block of 10.99.0.2 is still there (StateDirectory, --state-file)" sh -c \
	'fwd stats | grep -q "^    10.99.0.2 "'
check "the new process said where it came from" sh -c 'journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd |
	grep -q "state: 1 members of dynamic sets restored from /var/lib/fwd/dynamic-sets"'
check "/var/lib/fwd and the state file are root's alone" sh -c \
	'[ "$(stat -c %a /var/lib/fwd)" = 700 ] && [ "$(stat -c %a /var/lib/fwd/dynamic-sets)" = 600 ]'

step "a restart onto a file that does not check: the hooks stay; fwd unhook"
cp $RULES /tmp/rules.good
echo "  - {name: broken, action: allow" >>$RULES
n0=$(prop NRestarts)
check "restart fails (ExecStartPre: fwd check)" sh -c '! systemctl restart fwd'
state
check "the hooks stay while fwd is down" [ "$(hooks)" = "$before" ]
check "systemd tries again" wait_for 50 sh -c '[ "$(systemctl show -P NRestarts fwd)" -gt '"$n0"' ]'
check "systemctl stop fwd succeeds" run systemctl stop fwd
check "the hooks are still there (no process to remove them)" [ "$(hooks)" = "$before" ]
check "fwd unhook succeeds" run fwd unhook
check "its hooks are gone" nohooks
cp /tmp/rules.good $RULES
check "start with the file mended" run systemctl start fwd
check "fwd is active" active
pid=$(prop MainPID)

step "kill -9 the main process: the blocks stay"
check "the running fwd keeps the state file (the block of 10.99.0.2, within 6 s)" \
	wait_for 60 grep -q '^scanners 10\.99\.0\.2 ' /var/lib/fwd/dynamic-sets
n0=$(prop NRestarts)
run kill -9 "$pid"
check "systemd restarts fwd" wait_for 100 sh -c '[ "$(systemctl show -P NRestarts fwd)" -gt '"$n0"' ] &&
	[ "$(systemctl show -P ActiveState fwd)" = active ] && [ "$(systemctl show -P SubState fwd)" = running ]'
state
pid2=$(prop MainPID)
check "a new process ($pid -> $pid2)" eval '[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ]'
check "the hooks are back, once" [ "$(hooks)" -gt 0 ]
check "the block of 10.99.0.2 outlived the crash" sh -c 'fwd stats | grep -q "^    10.99.0.2 "'

step "logs in the journal"
journalctl -b --no-pager -o short-monotonic -u fwd | tail -n 25 | sed 's/^/  /'
check "fwd's own lines reach the journal" sh -c 'journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd | grep -q "started:"'
check "no start logged a warning of libcap-ng (the unit's bounding set is already cut)" sh -c \
	'! journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=fwd | grep "libcap-ng"'
check "the reload failure is in the journal" sh -c 'journalctl -b --no-pager -u fwd | grep -q "reload failed\|ExecReload.*fail\|Reload failed"'

step "node_exporter serves fwd's metrics"
systemctl is-active prometheus-node-exporter >/dev/null || run systemctl start prometheus-node-exporter
echo "  prometheus-node-exporter: $(systemctl is-active prometheus-node-exporter), $(systemctl show -P ExecStart prometheus-node-exporter | grep -o 'argv\[\]=[^;]*')"
check "fwd writes $PROM" wait_for 50 test -s $PROM
ls -l $PROM | sed 's/^/  /'
check "curl :9100/metrics has fwd_ lines" wait_for 100 sh -c 'curl -fsS http://127.0.0.1:9100/metrics | grep -q "^fwd_"'
curl -fsS http://127.0.0.1:9100/metrics | grep -E '^fwd_(rule_packets_total|reloads_total)|^node_textfile_scrape_error' | head -n 8 | sed 's/^/  /'
check "the textfile collector reads it without error" sh -c 'curl -fsS http://127.0.0.1:9100/metrics | grep -qx "node_textfile_scrape_error 0"'

# The file sink inside the unit's sandbox (LogsDirectory=fwd), rotated by
# Debian's logrotate with the package's own configuration: its postrotate
# sends SIGUSR1 through systemctl, and fwd must reopen the new file.
step "the file log sink, rotated by logrotate (/etc/logrotate.d/fwd)"
LOG=/var/log/fwd/fwd.log
rules "  - {name: web, proto: tcp, dport: 8080, action: allow}" |
	sed '/^daemon:/a\  log: {sink: file, file: '$LOG'}' >$RULES
check "reload with the file sink succeeds" run systemctl reload fwd
# A connection attempt from the peer that the default drops and logs.
dropped_at() { ip netns exec peer timeout 1 bash -c "exec 3<>/dev/tcp/10.99.0.1/$1" 2>/dev/null; }
dropped_at 7101
check "a drop is logged to $LOG" wait_for 30 grep -q "dpt=7101" $LOG
check "logrotate -f succeeds" run logrotate -f /etc/logrotate.d/fwd
dropped_at 7102
check "the next drop is in the new file (fwd reopened it on SIGUSR1)" wait_for 30 grep -q "dpt=7102" $LOG
check "the rotated file has the first drop and not the next" sh -c \
	"grep -q dpt=7101 $LOG.1 && ! grep -q dpt=7102 $LOG.1"
check "the new file is root:adm 0640 (logrotate's create)" [ "$(stat -c '%U:%G %a' $LOG)" = "root:adm 640" ]
ls -l /var/log/fwd | sed 's/^/  /'

step "systemctl stop fwd"
check "stop succeeds" run systemctl stop fwd
state
check "fwd is inactive" [ "$(prop ActiveState)" = inactive ]
check "its hooks are gone" nohooks
check "its bridge rules are gone" [ "$(bridge_rules)" = 0 ]

step "upgrade: dpkg -i the package again while fwd runs"
run systemctl start fwd
pid=$(prop MainPID)
check "dpkg -i (upgrade) succeeds" hooks_during /tmp/upgrade.trace dpkg -i /share/fwd.deb
state
check "fwd was restarted ($pid -> $(prop MainPID))" sh -c '[ "$(systemctl show -P MainPID fwd)" != '"$pid"' ] && [ "$(systemctl show -P ActiveState fwd)" = active ]'
check "the operator's rules were kept" sh -c 'grep -q "name: web" '$RULES' && fwd stats | grep -q "^web "'
check "the hooks were there at every look (10 at least)" sh -c \
	'[ "$(wc -l </tmp/upgrade.trace)" -ge 10 ] && ! grep -qx 0 /tmp/upgrade.trace'

# The operator's own rules, kept by netfilter-persistent: its reload
# restores whole tables, and fwd's hooks go with them until fwd puts them
# back. The file stays for the reboot, where the unit starts fwd after it.
step "netfilter-persistent reload: fwd puts its hooks back"
mkdir -p /etc/iptables
printf '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 9 -j MARK --set-mark 0x7\nCOMMIT\n' \
	>/etc/iptables/rules.v4
printf '*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' >/etc/iptables/rules.v6
before=$(hooks)
check "netfilter-persistent reload succeeds" run netfilter-persistent reload
left=$(hooks)
# fwd looks every 5 s: it may have been quicker than this count.
check "it took fwd's hooks ($before NFQUEUE rules before, $left after)" sh -c '[ '"$left"' -lt '"$before"' ] ||
	grep -q "hooks are back" '"$LOG"
# nf_tables tells fwd of the change (fwd/nftwatch.c): the unit's sandbox
# must let it listen; its look every 5 s alone would take up to 5 s.
check "fwd put them back within 2 s" wait_for 20 eval '[ "$(hooks)" = "$before" ]'
check "and said so (in the file sink)" wait_for 30 grep -q \
	"hooks: .*another tool restored or flushed the table.*fwd.s hooks are back" "$LOG"
check "the operator's rule stays" sh -c 'iptables-save -t mangle | grep -q -- "--dport 9 -j MARK"'
check "fwd stats counts it" sh -c 'fwd stats --json | grep -q "\"hooks\":{\"restored\":1}"'

# netfilter-persistent save while fwd runs keeps fwd's chains as they are
# then. After a reload of fwd has changed them, netfilter-persistent reload
# brings the old ones back, every jump in place: fwd compares its chains
# line for line and puts its own back. The operator's file comes back
# after, for the reboot.
step "netfilter-persistent save, a reload of fwd, netfilter-persistent reload"
cp /etc/iptables/rules.v4 /tmp/operator.v4
cp /etc/iptables/rules.v6 /tmp/operator.v6
check "netfilter-persistent save succeeds" run netfilter-persistent save
check "the saved file holds fwd's chains" grep -q '^-A FWD-QUEUE ' /etc/iptables/rules.v4
rules "  - {name: web, proto: tcp, dport: 8080, action: allow}
  - {name: dmz, proto: tcp, dst: 10.99.0.1, dport: 8081, action: forward, to: 10.99.0.5:80}" |
	sed '/^daemon:/a\  log: {sink: file, file: '$LOG'}' >$RULES
check "reload with a forward rule succeeds" run systemctl reload fwd
dnat() { iptables-save -t nat | grep -q -- '^-A FWD-DNAT .*--to-destination 10.99.0.5:80$'; }
check "FWD-DNAT holds the forward" wait_for 30 dnat
check "netfilter-persistent reload succeeds" run netfilter-persistent reload
check "fwd says a chain of its own is not as it left it, within 2 s" wait_for 20 grep -q \
	"hooks: ip6\?tables -t [a-z]*: FWD-[A-Z]* is not as fwd left it (.*) (another tool" "$LOG"
check "the forward's DNAT line is back" wait_for 30 dnat
check "fwd stats counts it" sh -c 'fwd stats --json | grep -q "\"hooks\":{\"restored\":2}"'
run sh -c "grep 'not as fwd left it' $LOG"
cp /tmp/operator.v4 /etc/iptables/rules.v4
cp /tmp/operator.v6 /etc/iptables/rules.v6

# A block that a reboot must not lift: the unit's --state-file keeps it
# over the shutdown's SIGTERM.
step "reboot, with a source blocked"
rules "  - {name: scanners, src: \$scanners, action: drop}
  - {name: web, proto: tcp, dport: 8080, action: allow}
dynamic:
  scanners: {timeout: 10m}" >$RULES
check "reload with a blocking set succeeds" run systemctl reload fwd
check "fwd block 10.99.0.9 succeeds" run fwd block --set scanners --for 1h 10.99.0.9
check "fwd is enabled (it comes back with the boot)" [ "$(systemctl is-enabled fwd)" = enabled ]
echo "$FAILS" >$REBOOTED
run systemctl reboot
