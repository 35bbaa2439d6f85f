// SPDX-License-Identifier: MIT
/*
 * ifname.c - what an interface name may hold; see include/fwd/ifname.h.
 */
#include <stdio.h>
#include <string.h>

#include "fwd/config.h"
#include "fwd/ifname.h"

/*
 * The kernel's dev_valid_name(): not empty, shorter than IFNAMSIZ, not "."
 * or "..", no '/', ':' or whitespace (its isspace() counts 0xa0 too). On top
 * of that: no control byte or quote, which no real interface holds and which
 * would break a line or a token of the iptables-restore script, and none of
 * the rules language's '!', '+' and '$'.
 */
bool ifname_valid(const char *s, size_t len, char *why, size_t whylen)
{
	static const struct { const char *bytes, *what; } bad[] = {
		{ "/:", "'/' or ':'" },
		{ " \xa0", "whitespace" },
		{ "\"'\\", "a quote or backslash" },
		{ "!+$", "'!', '+' or '$' (they mean something in a rule)" },
	};

	if (len == 0 || len >= FWD_IFNAMSIZ) {
		snprintf(why, whylen, "an interface name has 1 to %d characters", FWD_IFNAMSIZ - 1);
		return false;
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && !memcmp(s, "..", 2))) {
		snprintf(why, whylen, "'.' and '..' name no interface");
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			snprintf(why, whylen, "it holds a control character (0x%02x)", c);
			return false;
		}
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (strchr(bad[k].bytes, c)) {
				snprintf(why, whylen, "it holds %s", bad[k].what);
				return false;
			}
	}
	return true;
}
