#!/usr/bin/env python3
"""Verdicts of python-stdnum on identifier codes, for tests/codes_stdnum.rs.

Usage: python3 tests/codes_stdnum.py FILE

FILE holds one code per line as `<kind>\t<value>`, kind one of `mod37_36`, `licence_id`,
`uscc`, `ric`. For each line this prints one JSON object with what python-stdnum says about
it; the Rust test compares that with what zhengzhao::codes says. This script only calls
stdnum and reports; it has no opinion of its own.

Exit status 3 when python-stdnum is not installed (`pip install python-stdnum`).
"""

import json
import sys

try:
    import stdnum
    from stdnum.cn import ric, uscc
    from stdnum.exceptions import ValidationError
    from stdnum.iso7064 import mod_37_36
except ImportError as e:
    print(f"python-stdnum is not installed ({e}); run `pip install python-stdnum`", file=sys.stderr)
    sys.exit(3)

ROOT = "1.2.156.3005.2."


def verdict(validate, value):
    """`valid`, or the name of the stdnum exception (InvalidLength, InvalidFormat, ...), or
    `crash:<exception>` if stdnum fails with something other than a ValidationError."""
    try:
        validate(value)
        return "valid"
    except ValidationError as e:
        return type(e).__name__
    except Exception as e:  # noqa: BLE001 - reported to the Rust test, which decides
        return f"crash:{type(e).__name__}"


def attempt(f, *args):
    """f(*args), or None if stdnum raises anything (e.g. a character outside its alphabet)."""
    try:
        return f(*args)
    except Exception:  # noqa: BLE001 - any failure means "stdnum cannot compute this"
        return None


def ok(f, *args):
    """True if f(*args) succeeds, False if it raises a stdnum ValidationError, and
    `crash:<exception>` if it fails with anything else."""
    try:
        f(*args)
        return True
    except ValidationError:
        return False
    except Exception as e:  # noqa: BLE001 - reported to the Rust test, which decides
        return f"crash:{type(e).__name__}"


def judge(kind, value):
    if kind == "mod37_36":
        return {"check": attempt(mod_37_36.calc_check_digit, value)}
    if kind == "licence_id":
        # GB/T 36904: the check covers the fields after the root, without the dots.
        fields = value[len(ROOT):].split(".") if value.startswith(ROOT) else []
        if len(fields) != 5:
            return {"valid": None, "check": None}
        body = "".join(fields[:4])
        return {
            "valid": mod_37_36.is_valid(body + fields[4]),
            "check": attempt(mod_37_36.calc_check_digit, body),
        }
    if kind == "uscc":
        return {
            "verdict": verdict(uscc.validate, value),
            "check": attempt(uscc.calc_check_digit, value[:17]) if len(value) == 18 else None,
        }
    if kind == "ric":
        digits17 = len(value) == 18 and value[:17].isascii() and value[:17].isdigit()
        return {
            "verdict": verdict(ric.validate, value),
            "check": ric.calc_check_digit(value) if digits17 else None,
            "date_ok": ok(ric.get_birth_date, value) if digits17 else None,
            "place_ok": ok(ric.get_birth_place, value) if digits17 else None,
        }
    raise SystemExit(f"unknown kind {kind!r}")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(json.dumps({"stdnum_version": stdnum.__version__}))
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            kind, value = line.rstrip("\n").split("\t", 1)
            result = judge(kind, value)
            result.update(kind=kind, value=value)
            print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
