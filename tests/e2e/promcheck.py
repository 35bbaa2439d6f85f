#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""promcheck.py FILE [NAME{LABELS}=VALUE ...] - a strict check of Prometheus'
text exposition format (version 0.0.4), then optional expected samples.

Every line must be blank, a comment, a '# HELP NAME TEXT' / '# TYPE NAME
TYPE' line, or a sample 'NAME{L="V",...} VALUE'. Names and label names must
be valid, label values escaped (only \\\\, \\" and \\n), a family's TYPE must
come before its samples and at most once, a counter's name must end in
_total, and no series may appear twice. An argument NAME{LABELS}=VALUE
checks that this series exists with this value (labels in any order).
With --print, prints every sample as 'NAME{sorted labels} VALUE'.
Exit 0 when all holds, 1 with a message per problem otherwise.
"""
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
VALUE = re.compile(r'[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|[+-]?Inf$|NaN$')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def parse_labels(s, pos, problems, where):
    """Parse '{...}' at s[pos]; returns (dict, next position)."""
    labels = {}
    pos += 1
    while True:
        if pos < len(s) and s[pos] == '}':
            return labels, pos + 1
        m = LABEL.match(s, pos)
        if not m:
            problems.append(f'{where}: bad label name at column {pos + 1}')
            return None, pos
        key = m.group(0)
        pos = m.end()
        if s[pos:pos + 2] != '="':
            problems.append(f'{where}: expected =" after label {key}')
            return None, pos
        pos += 2
        val = []
        while True:
            if pos >= len(s):
                problems.append(f'{where}: unterminated value of label {key}')
                return None, pos
            c = s[pos]
            if c == '\\':
                nxt = s[pos + 1:pos + 2]
                if nxt not in ('\\', '"', 'n'):
                    problems.append(f'{where}: bad escape \\{nxt} in label {key}')
                    return None, pos
                val.append('\n' if nxt == 'n' else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == '\n':
                problems.append(f'{where}: raw newline in label {key}')
                return None, pos
            else:
                val.append(c)
                pos += 1
        if key in labels:
            problems.append(f'{where}: label {key} twice')
        labels[key] = ''.join(val)
        if pos < len(s) and s[pos] == ',':
            pos += 1
        elif pos < len(s) and s[pos] == '}':
            continue
        else:
            problems.append(f'{where}: expected , or }} after label {key}')
            return None, pos


def family_of(name, types):
    for suffix in ('_bucket', '_sum', '_count'):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ('histogram', 'summary'):
            return base
    return name


def check(text):
    problems, types, helps, seen, samples = [], {}, set(), set(), {}
    sampled = set()
    if text and not text.endswith('\n'):
        problems.append('the file does not end with a newline')
    for no, line in enumerate(text.split('\n')[:-1] if text.endswith('\n') else
                              text.split('\n'), 1):
        where = f'line {no}'
        if line == '':
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not NAME.fullmatch(name):
                    problems.append(f'{where}: bad metric name {name!r}')
                    continue
                if parts[1] == 'TYPE':
                    t = parts[3] if len(parts) == 4 else ''
                    if t not in TYPES:
                        problems.append(f'{where}: bad type {t!r}')
                    if name in types:
                        problems.append(f'{where}: second TYPE for {name}')
                    if name in sampled:
                        problems.append(f'{where}: TYPE of {name} after its samples')
                    types[name] = t
                    if t == 'counter' and not name.endswith('_total'):
                        problems.append(f'{where}: counter {name} does not end in _total')
                else:
                    if name in helps:
                        problems.append(f'{where}: second HELP for {name}')
                    helps.add(name)
            continue
        m = NAME.match(line)
        if not m:
            problems.append(f'{where}: not a sample: {line!r}')
            continue
        name, pos, labels = m.group(0), m.end(), {}
        if pos < len(line) and line[pos] == '{':
            labels, pos = parse_labels(line, pos, problems, where)
            if labels is None:
                continue
        rest = line[pos:]
        if not rest.startswith(' '):
            problems.append(f'{where}: expected a space before the value: {line!r}')
            continue
        fields = rest[1:].split(' ')
        if len(fields) not in (1, 2) or not VALUE.match(fields[0]) or \
                (len(fields) == 2 and not re.fullmatch(r'-?\d+', fields[1])):
            problems.append(f'{where}: bad value/timestamp {rest[1:]!r}')
            continue
        fam = family_of(name, types)
        if fam not in types:
            problems.append(f'{where}: sample of {name} before (or without) its TYPE')
        sampled.add(fam)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            problems.append(f'{where}: duplicate series {name}{labels}')
        seen.add(key)
        samples[key] = fields[0]
    return problems, samples


def series_str(key):
    name, labels = key
    inner = ",".join(k + "=\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"" for k, v in labels)
    return f'{name}{{{inner}}}' if labels else name


def main():
    args = sys.argv[1:]
    show = '--print' in args
    args = [a for a in args if a != '--print']
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding='utf-8') as f:
        text = f.read()
    problems, samples = check(text)
    for want in args[1:]:
        series, _, value = want.rpartition('=')
        probs, got = check(f'{series} {value}\n'.replace('{', '{', 1))
        key = next(iter(got), None) if not [p for p in probs if 'TYPE' not in p] else None
        if key is None:
            problems.append(f'cannot parse the expectation {want!r}')
        elif key not in samples:
            problems.append(f'no series {series_str(key)}')
        elif float(samples[key]) != float(value):
            problems.append(f'{series_str(key)} is {samples[key]}, expected {value}')
    if show:
        for key, v in sorted(samples.items()):
            print(f'{series_str(key)} {v}')
    for p in problems:
        print(f'promcheck: {args[0]}: {p}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
