"""An independent reference for the table cases: re-computes the expected `text` of
every case here whose pipeline only uses the ops below, with Python's csv module and
plain Python (no kiln code), and checks it equals what the case file says.

    python3 tests/cases/table/reference.py          # check (exit 1 on a difference)
    python3 tests/cases/table/reference.py --print  # print each computed output

Covered: parse_csv (delimiter incl. auto, quote, header, infer, skip_lines, comment,
BOM), select, sort, limit, distinct, rename, group_by, to_csv (delimiter, quote). The
rules are written from the op docs (describe()), not from the Rust code.
"""
import csv
import io
import math
import re
import shlex
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
I64 = (-(2**63), 2**63 - 1)


class Unsupported(Exception):
    pass


def infer(text):
    if text == "":
        return None
    if text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    m = NUMBER.fullmatch(text)
    if m:
        if not m.group(2) and not m.group(3):
            v = int(text)
            if I64[0] <= v <= I64[1]:
                return v
        f = float(text)
        if math.isfinite(f):
            return f
    return text


def records(text, delimiter, quote, comment):
    lines = text.splitlines(keepends=True)
    if comment is not None:
        lines = [l for l in lines if not l.startswith(comment)]
    reader = csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter, quotechar=quote, strict=True)
    return [r for r in reader if r]


def sniff(text, quote, comment):
    best = None
    for d in [",", "\t", "|", ";", "\x1e", "\x1f"]:
        if d in (quote, comment):
            continue
        recs = records(text, d, quote, comment)[:10]
        if not recs:
            continue
        counts = [len(r) for r in recs]
        delta = sum(abs(a - b) for a, b in zip(counts[1:], counts))
        avg = Fraction(sum(counts), len(counts))
        if avg <= Fraction(199, 100):
            continue
        if best is None or delta < best[0] or (delta == best[0] and avg > best[1]):
            best = (delta, avg, d)
    return best[2] if best else ","


def parse_csv(data, p):
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    skip = int(p.get("skip_lines", 0))
    if skip:
        parts = re.split(r"(\r\n|\n|\r)", text)
        # parts: line, sep, line, sep, ...
        text = "".join(parts[2 * skip :]) if len(parts) > 2 * skip else ""
    quote = p.get("quote", '"')
    comment = p.get("comment")
    delimiter = p.get("delimiter", ",")
    delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    if delimiter == "auto":
        delimiter = sniff(text, quote, comment)
    recs = records(text, delimiter, quote, comment)
    do_infer = p.get("infer", "true") == "true"
    if p.get("header", "true") == "true":
        if not recs:
            return [], []
        columns, recs = recs[0], recs[1:]
        if len(set(columns)) != len(columns) or "" in columns:
            raise Unsupported("header renaming")
    else:
        width = max((len(r) for r in recs), default=0)
        columns = [f"column{i + 1}" for i in range(width)]
    rows = []
    for r in recs:
        if len(r) > len(columns):
            raise Unsupported("ragged")
        cells = [infer(c) if do_infer else c for c in r]
        rows.append(cells + [None] * (len(columns) - len(cells)))
    return columns, rows


def names(v):
    return [n.strip() for n in v.split(",")]


def rank(v):
    """(type rank, value) in the documented order: bools, numbers, text (by bytes)."""
    if isinstance(v, bool):
        return (0, v)
    if isinstance(v, (int, float)):
        return (1, v)
    return (2, v.encode())


def sort(columns, rows, p):
    rows = list(rows)
    keys = []
    for k in names(p["by"]):
        desc = k.startswith("-")
        keys.append((k[1:] if k[0] in "+-" else k, desc))
    # Stable sorts from the last key to the first; nulls last either way.
    for col, desc in reversed(keys):
        i = columns.index(col)
        present = [r for r in rows if r[i] is not None]
        nulls = [r for r in rows if r[i] is None]
        rows = sorted(present, key=lambda r: rank(r[i]), reverse=desc) + nulls
    return columns, rows


def key_of(v):
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("num", Fraction(v))
    return ("str", v)


def distinct(columns, rows, p):
    idx = [columns.index(c) for c in names(p["columns"])] if "columns" in p else range(len(columns))
    seen, out = set(), []
    for r in rows:
        k = tuple(key_of(r[i]) for i in idx)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return columns, out


def group_by(columns, rows, p):
    by = names(p["by"])
    aggs = names(p.get("aggregates", "count"))
    idx = [columns.index(c) for c in by]
    groups = {}
    for r in rows:
        groups.setdefault(tuple(key_of(r[i]) for i in idx), []).append(r)
    out_cols = by + [a if a == "count" else a.replace(":", "_", 1) for a in aggs]
    out = []
    for members in groups.values():
        row = [members[0][i] for i in idx]
        for a in aggs:
            if a == "count":
                row.append(len(members))
                continue
            fn, col = a.split(":", 1)
            vals = [m[columns.index(col)] for m in members]
            nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
            ints = [v for v in nums if isinstance(v, int)]
            floats = [v for v in nums if isinstance(v, float)]
            if fn in ("sum", "mean"):
                if not nums:
                    row.append(None)
                    continue
                fsum = 0.0
                for f in floats:
                    fsum += f
                if fn == "sum":
                    total = sum(ints)
                    row.append(total if not floats and I64[0] <= total <= I64[1] else float(total) + fsum)
                else:
                    row.append(sum(ints) / len(nums) if not floats else (float(sum(ints)) + fsum) / len(nums))
            else:
                pool = nums or [v for v in vals if isinstance(v, str)]
                if not pool:
                    row.append(None)
                    continue
                key = (lambda v: v) if nums else (lambda v: v.encode())
                best = pool[0]
                for v in pool[1:]:
                    if (key(v) < key(best)) if fn == "min" else (key(v) > key(best)):
                        best = v
                row.append(best)
        out.append(row)
    return out_cols, out


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = repr(v)
        return s.replace("e+0", "e+").replace("e-0", "e-")
    return str(v)


def to_csv(columns, rows, p):
    delimiter = {"\\t": "\t", "tab": "\t"}.get(p.get("delimiter", ","), p.get("delimiter", ","))
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if p.get("quote", "needed") == "always" else csv.QUOTE_MINIMAL
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=quoting)
    if columns:
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt(v) for v in r])
    return buf.getvalue()


def run(pipeline, data):
    steps = [shlex.split(s) for s in pipeline.split(" | ")]
    table = None
    for words in steps:
        op, params = words[0], dict(w.split("=", 1) for w in words[1:])
        if op == "parse_csv":
            table = parse_csv(data, params)
        elif op == "select":
            cols = names(params["columns"])
            idx = [table[0].index(c) for c in cols]
            table = (cols, [[r[i] for i in idx] for r in table[1]])
        elif op == "sort":
            table = sort(*table, params)
        elif op == "limit":
            off, n = int(params.get("offset", 0)), int(params["count"])
            table = (table[0], table[1][off : off + n])
        elif op == "distinct":
            table = distinct(*table, params)
        elif op == "rename":
            pairs = dict(x.split(":", 1) for x in names(params["columns"]))
            table = ([pairs.get(c, c) for c in table[0]], table[1])
        elif op == "group_by":
            table = group_by(*table, params)
        elif op == "to_csv":
            return to_csv(*table, params)
        else:
            raise Unsupported(op)
    raise Unsupported("no to_csv")


def main():
    try:
        import tomllib
    except ImportError:
        print("reference: skipped, Python before 3.11 has no tomllib")
        return
    printing = "--print" in sys.argv
    checked, failed = 0, 0
    for path in sorted(HERE.glob("*.toml")):
        case = tomllib.loads(path.read_text())
        text = case.get("expect", {}).get("text")
        if text is None:
            continue
        if "input" in case:
            data = (path.parent / case["input"]).read_bytes()
        elif "input_text" in case:
            data = case["input_text"].encode()
        else:
            import base64

            data = base64.b64decode(case["input_base64"])
        try:
            got = run(case["pipeline"], data)
        except (Unsupported, KeyError, ValueError):
            continue
        checked += 1
        if printing:
            print(f"== {path.name}\n{got}")
        if got != text:
            failed += 1
            print(f"DIFFERS {path.name}:\n--- case\n{text}--- reference\n{got}")
    print(f"reference: {checked} cases checked, {failed} differ")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
