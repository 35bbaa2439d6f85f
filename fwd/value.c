// SPDX-License-Identifier: MIT
/*
 * value.c - fwd's vocabulary: one spelling of each small value (see
 * include/fwd/value.h). Nothing here allocates except the text buffer, so
 * the packet path and the logger may use the rest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "fwd/value.h"

/* ---- actions and protocols ------------------------------------------------ */

const char *const action_names[] = {
	[FWD_ALLOW] = "allow", [FWD_DROP] = "drop", [FWD_FORWARD] = "forward",
	[FWD_REJECT] = "reject", NULL,
};

const char *action_name(enum fwd_action a)
{
	return (unsigned)a <= FWD_REJECT ? action_names[a] : "drop";
}

int action_parse(const char *s, size_t len)
{
	if (!len)
		len = strlen(s);
	for (int i = 0; action_names[i]; i++)
		if (strlen(action_names[i]) == len && !memcmp(action_names[i], s, len))
			return i;
	return -1;
}

const char *const fail_names[] = {
	[FWD_FAIL_CLOSED] = "closed", [FWD_FAIL_OPEN] = "open", NULL,
};

const char *const rpfilter_names[] = {
	[FWD_RPF_OFF] = "off", [FWD_RPF_STRICT] = "strict", [FWD_RPF_LOOSE] = "loose", NULL,
};

/*
 * The protocols a gateway meets by name (as /etc/protocols spells them):
 * its tunnels (GRE, IPsec's ESP and AH), multicast (IGMP), routing (OSPF)
 * and redundancy (VRRP). Any other is named by its number.
 */
static const struct { unsigned num; const char *name; } protos[] = {
	{ FWD_PROTO_TCP, "tcp" }, { FWD_PROTO_UDP, "udp" }, { FWD_PROTO_ICMP, "icmp" },
	{ FWD_PROTO_ICMPV6, "icmpv6" }, { FWD_PROTO_SCTP, "sctp" }, { 2, "igmp" },
	{ 47, "gre" }, { 50, "esp" }, { 51, "ah" }, { 89, "ospf" }, { 112, "vrrp" },
};

const char *proto_name(unsigned proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

int proto_number(const char *s)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(protos[i].name, s))
			return (int)protos[i].num;
	/* A number: 0 to 255, in decimal, without sign or leading zero. */
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		n = n * 10 + (unsigned)(s[i] - '0');
	if (!i || s[i] || n > 255 || (s[0] == '0' && i > 1))
		return -1;
	return (int)n;
}

void proto_names(char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]) && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s, ", protos[i].name);
	if (n < outlen)
		snprintf(out + n, outlen - n, "a number 0-255");
}

/* ---- addresses -------------------------------------------------------------- */

int addr_parse(const char *s, fwd_u128 *a)
{
	unsigned char b[16];
	int n;

	if (inet_pton(AF_INET, s, b) == 1)
		n = 4;
	else if (inet_pton(AF_INET6, s, b) == 1)
		n = 16;
	else
		return 0;
	*a = addr_from_bytes(b, (size_t)n);
	return n == 4 ? 4 : 6;
}

int addr_unmap(int family, fwd_u128 *a, unsigned *plen)
{
	if (family != 6 || (plen && *plen != 128) || *a >> 32 != 0xffff)
		return family;
	*a &= 0xffffffffu;
	if (plen)
		*plen = 32;
	return 4;
}

int prefix_parse(const char *s, fwd_u128 *a, unsigned *plen)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char addr[INET6_ADDRSTRLEN];
	char *end;
	int fam;

	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	fam = addr_parse(addr, a);
	if (!fam)
		return 0;
	len = fam == 4 ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return 0;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (*end || errno || len > (fam == 4 ? 32u : 128u))
			return 0;
	}
	*plen = (unsigned)len;
	*a &= fwd_prefix_mask(fam, *plen);
	return addr_unmap(fam, a, plen);
}

/* Dotted quad by hand: glibc's inet_ntop() goes through sprintf(), and the logger prints many. */
static void ip4_format(char *out, size_t outlen, uint32_t v)
{
	char tmp[16];
	size_t o = 0;

	for (int sh = 24; sh >= 0; sh -= 8) {
		unsigned b = (v >> sh) & 0xff;

		if (b >= 100)
			tmp[o++] = (char)('0' + b / 100);
		if (b >= 10)
			tmp[o++] = (char)('0' + b / 10 % 10);
		tmp[o++] = (char)('0' + b % 10);
		if (sh)
			tmp[o++] = '.';
	}
	if (!outlen)
		return;
	if (o >= outlen)
		o = outlen - 1;
	memcpy(out, tmp, o);
	out[o] = '\0';
}

void addr_format(char *out, size_t outlen, unsigned family, fwd_u128 a)
{
	struct in6_addr v6;

	if (family == 4) {
		ip4_format(out, outlen, (uint32_t)a);
		return;
	}
	if (family != 6) {
		snprintf(out, outlen, "-");
		return;
	}
	for (int i = 15; i >= 0; i--, a >>= 8)
		v6.s6_addr[i] = (uint8_t)a;
	if (!inet_ntop(AF_INET6, &v6, out, (socklen_t)outlen) && outlen)
		out[0] = '\0';
}

void target_format(char *out, size_t outlen, const struct fwd_target *t, uint32_t dport)
{
	char a[INET6_ADDRSTRLEN];
	uint32_t port = t->port ? t->port : dport;

	addr_format(a, sizeof(a), t->family, t->addr);
	if (port == 0 || port >= FWD_NOPORT)
		snprintf(out, outlen, t->family == 6 ? "[%s]" : "%s", a);
	else
		snprintf(out, outlen, t->family == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

static bool port_parse(const char *s, uint32_t *port)
{
	uint32_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 65535)
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	if (v > 65535)
		return false;
	*port = v;
	return true;
}

/* "1.2.3.4:80", "1.2.3.4", "[2001:db8::1]:80", "[2001:db8::1]", "2001:db8::1". */
int endpoint_parse(const char *s, fwd_u128 *addr, uint32_t *port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *p = NULL, *colon;
	bool bracket = s[0] == '[';
	size_t hl;
	int fam;

	*port = FWD_NOPORT;
	if (bracket) {
		const char *rb = strchr(s, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return 0;
		hl = (size_t)(rb - s - 1);
		s++;
		p = rb[1] ? rb + 2 : NULL;
	} else {
		colon = strchr(s, ':');
		hl = colon && !strchr(colon + 1, ':') ? (size_t)(colon - s) : strlen(s);
		p = s[hl] ? s + hl + 1 : NULL;
	}
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, s, hl);
	host[hl] = '\0';
	fam = addr_parse(host, addr);
	if (!fam || (bracket && fam != 6))
		return 0;
	if (p && !port_parse(p, port))
		return 0;
	return fam;
}

/* Binary search of the sorted, disjoint ranges of one family. */
bool addrset_has(const struct fwd_addrset *s, unsigned family, fwd_u128 a)
{
	uint32_t lo = 0, hi = family == 4 ? s->n4 : s->n6;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		fwd_u128 rlo = family == 4 ? s->v4[mid].lo : s->v6[mid].lo;
		fwd_u128 rhi = family == 4 ? s->v4[mid].hi : s->v6[mid].hi;

		if (a < rlo)
			hi = mid;
		else if (a > rhi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* ---- durations and clocks ------------------------------------------------- */

/* The units of a duration, smallest first. */
static const struct { const char *unit; uint64_t ms; } duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
};
#define NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))

bool duration_parse(const char *s, uint64_t bare_ms, uint64_t max_ms, uint64_t *ms)
{
	const char *e = s;
	uint64_t n = 0, mul = 0;

	for (; *e >= '0' && *e <= '9'; e++) {
		n = n * 10 + (uint64_t)(*e - '0');
		if (n > 1u << 30)
			return false;
	}
	if (e == s)
		return false;
	if (!*e)
		mul = bare_ms;
	for (size_t i = 0; i < NUNITS && !mul; i++)
		if (!strcmp(e, duration_units[i].unit))
			mul = duration_units[i].ms;
	if (!mul || n == 0 || n * mul > max_ms)
		return false;
	*ms = n * mul;
	return true;
}

void duration_format(char *out, size_t outlen, uint64_t ms)
{
	size_t i = NUNITS - 1;

	while (i && (!ms || ms % duration_units[i].ms))
		i--;
	snprintf(out, outlen, "%" PRIu64 "%s", ms / duration_units[i].ms, duration_units[i].unit);
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int netlink_listen(int protocol, uint32_t groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

uint64_t clock_ms(clockid_t id)
{
	return clock_us(id) / 1000;
}

uint64_t clock_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t clock_mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000;
}

uint64_t clock_coarse_ms(void)
{
	return clock_us(CLOCK_MONOTONIC_COARSE) / 1000;
}

uint64_t clock_unix_time(uint64_t coarse_ms)
{
	uint64_t now_ms, rt;

	if (!coarse_ms)
		return 0;
	rt = clock_us(CLOCK_REALTIME) / 1000000;
	now_ms = clock_coarse_ms();
	if (coarse_ms > now_ms)
		coarse_ms = now_ms;
	return rt - (now_ms - coarse_ms) / 1000;
}

/* ---- growing text ----------------------------------------------------------- */

void text_vprintf(struct fwd_text *t, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	while (!t->oom) {
		size_t room = t->cap - t->len;

		va_copy(aq, ap);
		n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, aq);
		va_end(aq);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *s = realloc(t->s, cap);

		if (!s) {
			t->oom = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
}

void text_printf(struct fwd_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(t, fmt, ap);
	va_end(ap);
}

size_t hex_escape(char *out, size_t outlen, const char *in, size_t len,
		  bool (*plain)(unsigned char c))
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool keep = plain(c);

		if (o + (keep ? 1 : 4) >= outlen)
			break;
		if (keep) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return o;
}

void text_json_str(struct fwd_text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			text_printf(t, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			text_printf(t, "\\u%04x", c);
		else
			text_printf(t, "%c", c);
	}
}

char *text_take(struct fwd_text *t)
{
	if (!t->oom && !t->s)
		text_printf(t, "%s", "");
	if (t->oom) {
		free(t->s);
		t->s = NULL;
	}
	return t->s;
}

bool ipt_comment_plain(const char *s)
{
	if (!s || !*s || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}
