"""An independent implementation of RFC 9162 Merkle tree hashes, proofs and their verifiers.

Written from the text of RFC 9162 (Certificate Transparency Version 2.0), section 2.1, on
Python's hashlib only; it shares no code with zhengzhao. Used by tests/merkle_python.rs:

  merkle.py REQUEST_FILE

REQUEST_FILE is JSON written by the Rust test:

  {"entries":     ["<hex of the exact bytes of entry 0>", ...],
   "roots":       [size, ...],
   "inclusion":   [{"index": i, "size": n, "proof": ["<hex>", ...], "root": "<hex>"}, ...],
   "consistency": [{"first": m, "second": n, "proof": [...],
                    "first_root": "<hex>", "second_root": "<hex>"}, ...]}

Prints one JSON object:

  {"python":      "<version>",
   "leaf_hashes": ["<hex>", ...],                      one per entry
   "roots":       ["<hex>", ...],                      MTH(D[0:size]) for each size asked
   "inclusion":   [{"path": [...] or null, "root": "<hex>" or null, "verifies": bool}, ...],
   "consistency": [{"proof": [...] or null, "first_root": ..., "second_root": ...,
                    "verifies": bool}, ...]}

For each inclusion item, "path" is PATH(index, D[0:size]) and "root" is MTH(D[0:size]), both
computed here from the entries (null when the index and size do not name a leaf of the entries
given), and "verifies" is what this file's verifier (RFC 9162 section 2.1.3.2) says of the
proof and root the item carries, for the leaf hash of entry "index" computed here. Likewise for
consistency items with PROOF(first, D[0:second]) and section 2.1.4.2.
"""

import functools
import hashlib
import json
import sys


def sha256(data):
    return hashlib.sha256(data).digest()


class Tree:
    """The list of entries D[0:n] and the functions of RFC 9162 section 2.1 over its prefixes."""

    def __init__(self, entries):
        self.entries = entries

    # 2.1.1: the Merkle Tree Hash of D[lo:hi].
    @functools.lru_cache(maxsize=None)
    def mth(self, lo, hi):
        n = hi - lo
        if n == 0:
            return sha256(b"")
        if n == 1:
            return sha256(b"\x00" + self.entries[lo])
        k = largest_power_of_two_below(n)
        return sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))

    def leaf_hash(self, i):
        return self.mth(i, i + 1)

    # 2.1.3.1: PATH(m, D[lo:hi]), the inclusion proof of leaf m of that list (m relative to lo).
    def path(self, m, lo, hi):
        n = hi - lo
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    # 2.1.4.1: PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), for 0 < m < n.
    def proof(self, m, n):
        return self.subproof(m, 0, n, True)

    def subproof(self, m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def largest_power_of_two_below(n):
    """The largest power of two smaller than n (n > 1): k < n <= 2k."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def node(left, right):
    return sha256(b"\x01" + left + right)


def lsb(x):
    return x & 1 == 1


def verify_inclusion(leaf_hash, leaf_index, tree_size, inclusion_path, root_hash):
    """RFC 9162 section 2.1.3.2, step by step."""
    # 1. leaf_index must be below tree_size.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn, sn = leaf_index, tree_size - 1
    # 3.
    r = leaf_hash
    # 4.
    for p in inclusion_path:
        if sn == 0:  # a.
            return False
        if lsb(fn) or fn == sn:  # b.
            r = node(p, r)
            if not lsb(fn):
                while not (lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(first, second, first_hash, second_hash, consistency_path):
    """RFC 9162 section 2.1.4.2, step by step.

    Section 2.1.4 defines proofs only for 0 < first < second. For first == second there is no
    proof to check: an empty path and equal hashes are accepted, anything else is refused (as
    zhengzhao and transparency-dev/merkle also do). first == 0 is refused.
    """
    if first == 0 or first > second:
        return False
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    # 1.
    if not consistency_path:
        return False
    path = list(consistency_path)
    # 2.
    if first & (first - 1) == 0:
        path = [first_hash] + path
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if lsb(fn) or fn == sn:  # b.
            fr = node(c, fr)
            sr = node(c, sr)
            if not lsb(fn):
                while not (lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


def hexes(hs):
    return [h.hex() for h in hs]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        req = json.load(f)
    entries = [bytes.fromhex(e) for e in req["entries"]]
    tree = Tree(entries)
    count = len(entries)

    out = {
        "python": sys.version.split()[0],
        "leaf_hashes": [tree.leaf_hash(i).hex() for i in range(count)],
        "roots": [tree.mth(0, n).hex() if 0 <= n <= count else None for n in req["roots"]],
        "inclusion": [],
        "consistency": [],
    }

    for item in req["inclusion"]:
        i, n = item["index"], item["size"]
        named = 0 <= i < n <= count
        proof = [bytes.fromhex(h) for h in item["proof"]]
        root = bytes.fromhex(item["root"])
        out["inclusion"].append(
            {
                "path": hexes(tree.path(i, 0, n)) if named else None,
                "root": tree.mth(0, n).hex() if named else None,
                "verifies": named and verify_inclusion(tree.leaf_hash(i), i, n, proof, root),
            }
        )

    for item in req["consistency"]:
        m, n = item["first"], item["second"]
        named = 0 < m <= n <= count
        proof = [bytes.fromhex(h) for h in item["proof"]]
        r1 = bytes.fromhex(item["first_root"])
        r2 = bytes.fromhex(item["second_root"])
        out["consistency"].append(
            {
                "proof": hexes(tree.proof(m, n)) if named else None,
                "first_root": tree.mth(0, m).hex() if named else None,
                "second_root": tree.mth(0, n).hex() if named else None,
                "verifies": verify_consistency(m, n, r1, r2, proof),
            }
        )

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
