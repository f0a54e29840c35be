#!/usr/bin/env python3
"""Check a file in the Prometheus text exposition format (version 0.0.4).

    prom_check.py check FILE           exit 1 and list every problem found
    prom_check.py value FILE SERIES    print the value of one series, such as
                                       'provision_tasks{status="queued",type="noop"}'

The check covers what node_exporter's textfile collector and Prometheus
reject or misread: sample lines of the form name{labels} value, valid metric
and label names, escapes in label values, HELP and TYPE before the first
sample of a metric family, no family split or repeated, no duplicate series,
and histograms whose buckets are cumulative, end in le="+Inf" and come with
_sum and _count, where _count equals the +Inf bucket.
"""
import math
import re
import sys

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class Problem(Exception):
    pass


def parse_labels(text, lineno):
    """Parse 'a="x",b="y"' (the part between the braces) into a dict."""
    labels = {}
    pos = 0
    while pos < len(text):
        match = LABEL_NAME.match(text, pos)
        if match is None:
            raise Problem(f"line {lineno}: invalid label name at {text[pos:]!r}")
        name = match.group(0)
        pos = match.end()
        if text[pos:pos + 2] != '="':
            raise Problem(f"line {lineno}: expected =\" after label {name}")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise Problem(f"line {lineno}: unterminated value of label {name}")
            char = text[pos]
            if char == "\\":
                escaped = text[pos + 1:pos + 2]
                if escaped not in ("\\", '"', "n"):
                    raise Problem(f"line {lineno}: invalid escape \\{escaped} in label {name}")
                value.append("\n" if escaped == "n" else escaped)
                pos += 2
            elif char == '"':
                pos += 1
                break
            else:
                value.append(char)
                pos += 1
        if name in labels:
            raise Problem(f"line {lineno}: label {name} given twice")
        labels[name] = "".join(value)
        if pos < len(text):
            if text[pos] != ",":
                raise Problem(f"line {lineno}: expected , after label {name}")
            pos += 1
    return labels


def parse_value(text, lineno):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text)
    try:
        return float(text)
    except ValueError:
        raise Problem(f"line {lineno}: invalid sample value {text!r}") from None


def parse_sample(line, lineno):
    """Return (name, labels, value) of a sample line."""
    match = METRIC_NAME.match(line)
    if match is None:
        raise Problem(f"line {lineno}: invalid metric name in {line!r}")
    name = match.group(0)
    rest = line[match.end():]
    labels = {}
    if rest.startswith("{"):
        end = rest.rfind("}")
        if end < 0:
            raise Problem(f"line {lineno}: missing }} in {line!r}")
        labels = parse_labels(rest[1:end], lineno)
        rest = rest[end + 1:]
    fields = rest.split()
    if not rest.startswith(" ") or len(fields) not in (1, 2):
        raise Problem(f"line {lineno}: expected 'name{{labels}} value [timestamp]', got {line!r}")
    return name, labels, parse_value(fields[0], lineno)


def series_key(name, labels):
    inner = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels))
    return f"{name}{{{inner}}}" if labels else name


def family_of(name, types):
    """Return the metric family a sample belongs to, taking histogram suffixes off."""
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text):
    """Parse the whole text; return (types, samples) or raise Problem."""
    types, helps, samples = {}, {}, []
    finished_families = set()
    current = None
    for lineno, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise Problem(f"line {lineno}: invalid metric name {name!r} in {parts[1]}")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise Problem(f"line {lineno}: invalid TYPE line {line!r}")
                    if name in types:
                        raise Problem(f"line {lineno}: second TYPE line for {name}")
                    if any(family_of(s[0], types) == name for s in samples):
                        raise Problem(f"line {lineno}: TYPE of {name} after its samples")
                    types[name] = parts[3]
                else:
                    if name in helps:
                        raise Problem(f"line {lineno}: second HELP line for {name}")
                    helps[name] = parts[3] if len(parts) == 4 else ""
            continue
        name, labels, value = parse_sample(line, lineno)
        family = family_of(name, types)
        if family not in types:
            raise Problem(f"line {lineno}: sample of {name} without a TYPE line before it")
        if family not in helps:
            raise Problem(f"line {lineno}: sample of {name} without a HELP line before it")
        if family != current:
            if family in finished_families:
                raise Problem(f"line {lineno}: samples of {family} are split into two groups")
            if current is not None:
                finished_families.add(current)
            current = family
        if types[family] == "histogram" and name == family:
            raise Problem(f"line {lineno}: histogram {family} has a sample without a suffix")
        samples.append((name, labels, value, lineno))
    return types, samples


def check_histograms(types, samples):
    """Check every histogram series: cumulative buckets ending in +Inf, _sum and _count."""
    problems = []
    for family, kind in types.items():
        if kind != "histogram":
            continue
        groups = {}
        for name, labels, value, lineno in samples:
            if not name.startswith(family + "_"):
                continue
            rest = {k: v for k, v in labels.items() if k != "le"}
            key = series_key(family, rest)
            group = groups.setdefault(key, {"buckets": [], "sum": None, "count": None})
            if name == family + "_bucket":
                if "le" not in labels:
                    problems.append(f"line {lineno}: bucket of {key} without le")
                    continue
                group["buckets"].append((parse_value(labels["le"], lineno), value, lineno))
            elif name == family + "_sum":
                group["sum"] = value
            elif name == family + "_count":
                group["count"] = value
        if not groups:
            problems.append(f"histogram {family} has no samples")
        for key, group in groups.items():
            buckets = group["buckets"]
            if not buckets:
                problems.append(f"{key}: no buckets")
                continue
            bounds = [b[0] for b in buckets]
            if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
                problems.append(f"{key}: bucket bounds are not strictly increasing: {bounds}")
            if not math.isinf(bounds[-1]) or bounds[-1] < 0:
                problems.append(f'{key}: the last bucket is le="{bounds[-1]}", not le="+Inf"')
            for (_, low, _), (_, high, lineno) in zip(buckets, buckets[1:]):
                if high < low:
                    problems.append(f"line {lineno}: {key}: bucket counts decrease ({low} then {high})")
            if group["sum"] is None:
                problems.append(f"{key}: _sum is missing")
            if group["count"] is None:
                problems.append(f"{key}: _count is missing")
            elif group["count"] != buckets[-1][1]:
                problems.append(f"{key}: _count {group['count']} differs from the +Inf bucket {buckets[-1][1]}")
    return problems


def check(text):
    try:
        types, samples = parse(text)
    except Problem as problem:
        return [str(problem)]
    problems = check_histograms(types, samples)
    seen = {}
    for name, labels, _, lineno in samples:
        key = series_key(name, labels)
        if key in seen:
            problems.append(f"line {lineno}: series {key} repeats line {seen[key]}")
        seen[key] = lineno
    if not text.endswith("\n"):
        problems.append("the text does not end with a line feed")
    return problems


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "value"):
        sys.exit(__doc__)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    if sys.argv[1] == "check":
        problems = check(text)
        for problem in problems:
            print(problem)
        sys.exit(1 if problems else 0)

    wanted = sys.argv[3]
    _, samples = parse(text)
    for name, labels, value, _ in samples:
        if series_key(name, labels) == wanted:
            print(int(value) if value.is_integer() else value)
            return
    sys.exit(f"no series {wanted}")


if __name__ == "__main__":
    main()
