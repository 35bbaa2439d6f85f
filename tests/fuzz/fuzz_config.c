// SPDX-License-Identifier: MIT
/*
 * fuzz_config.c - libFuzzer target: bytes -> config_parse(); a file that
 * parses is compiled, classified once and shadow-checked, so the loader, the
 * compiler and the shadow analysis all see hostile input.
 */
#include <stddef.h>
#include <stdint.h>

#include "fwd/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_key k = { .family = 4, .proto = 6, .sport = 1234, .dport = 80 };

	diags_init(&d, "fuzz");
	c = config_parse((const char *)data, size, &d);
	if (c) {
		rs = ruleset_compile(c);
		if (rs) {
			k.iface = ruleset_iface_class(rs, "eth0");
			(void)classify(rs, &k);
			ruleset_shadows(rs, c, &d);
			ruleset_free(rs);
		}
		config_free(c);
	}
	diags_free(&d);
	return 0;
}
