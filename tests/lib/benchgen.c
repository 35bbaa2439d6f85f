// SPDX-License-Identifier: MIT
/* benchgen.c - the benchmarks' shared generator (tests/lib/benchgen.h). */
#include <stdbool.h>
#include <time.h>

#include "benchgen.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

uint32_t bench_below(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_put_rule(FILE *f, int i)
{
	static const char *const ifs[] = { "eth0", "eth+", "wan0", "\"!lo\"" };
	uint32_t port = bench_below(4) ? 1 + bench_below(10000) : 1 + bench_below(65000);

	fprintf(f, "  - name: r%d\n    proto: %s\n", i, bench_below(3) ? "tcp" : "udp");
	if (bench_below(2)) {
		bool neg = !bench_below(10);

		fprintf(f, "    src: %s%u.%u.%u.0/24%s\n", neg ? "\"!" : "", 10 + bench_below(100),
			bench_below(256), bench_below(256), neg ? "\"" : "");
	} else if (!bench_below(5)) {
		fprintf(f, "    src: \"2001:db8:%x::/48\"\n", bench_below(65536));
	}
	if (bench_below(5))
		fprintf(f, "    dport: %u\n", port);
	else
		fprintf(f, "    dport: %u-%u\n", port, port + bench_below(20));
	if (!bench_below(8))
		fprintf(f, "    in: %s\n", ifs[bench_below(4)]);
	fprintf(f, "    action: %s\n", bench_below(2) ? "allow" : "drop");
}
