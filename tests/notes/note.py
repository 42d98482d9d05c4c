"""An independent implementation of signed notes, checkpoints and cosignatures.

Written from c2sp.org/signed-note, tlog-checkpoint and tlog-cosignature on hashlib, base64 and
the Ed25519 of Python's `cryptography`; it shares no code with zhengzhao. Modes:

  note.py verify VKEY NOTE_FILE
      Verifies the Ed25519 (type 0x01) signature by VKEY on the signed checkpoint in NOTE_FILE,
      computing the key id itself, then reads the checkpoint body. Prints
      "ok <origin> <size> <root base64>" and exits 0, or prints what failed and exits 1.

  note.py sign NAME BODY_FILE NOTE_FILE
      Makes a new Ed25519 key named NAME, signs the body in BODY_FILE, writes the signed note
      to NOTE_FILE and prints the verifier key text.

  note.py verify-cosignature VKEY NOTE_FILE
      Verifies the cosignature/v1 (type 0x04) by VKEY on the checkpoint in NOTE_FILE. Prints
      "ok <timestamp>" and exits 0, or prints what failed and exits 1.

  note.py cosign NAME NOTE_FILE TIMESTAMP OUT_FILE
      Makes a new witness key named NAME, cosigns the body of the note in NOTE_FILE at
      TIMESTAMP, writes the note with the cosignature line appended to OUT_FILE and prints the
      verifier key text.
"""

import base64
import binascii
import hashlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014 "


def fail(msg):
    print(msg)
    sys.exit(1)


def key_id(name, alg, pk):
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pk).digest()[:4]


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    try:
        raw = base64.b64decode(s, validate=True)
    except binascii.Error:
        fail("bad base64")
    if b64(raw) != s:
        fail("non-canonical base64")
    return raw


def raw_public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def vkey_text(name, alg, pk):
    return f"{name}+{key_id(name, alg, pk).hex()}+{b64(bytes([alg]) + pk)}"


def parse_vkey(vkey, alg):
    name, hex_id, key = vkey.split("+", 2)
    raw = unb64(key)
    if raw[0] != alg or len(raw) != 33:
        fail("wrong key type or length")
    pk = raw[1:]
    if key_id(name, alg, pk).hex() != hex_id:
        fail("key id does not match")
    return name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(pk)


def split_note(text):
    if not text.endswith("\n") or "\r" in text:
        fail("malformed note")
    cut = text.rfind("\n\n")
    if cut < 0:
        fail("no blank line")
    body, sigs = text[: cut + 1], text[cut + 2 :]
    lines = sigs[:-1].split("\n")
    if not sigs or not all(line.startswith(DASH) for line in lines):
        fail("bad signature lines")
    out = []
    for line in lines:
        name, sig = line[len(DASH) :].split(" ")
        out.append((name, unb64(sig)))
    return body, out


def only_sig(sigs, name, kid):
    found = [s for n, s in sigs if n == name and s[:4] == kid]
    if len(found) != 1:
        fail(f"{len(found)} signatures by {name}")
    return found[0][4:]


def checkpoint(body):
    lines = body[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        fail("bad checkpoint body")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        fail("bad size")
    if len(unb64(root)) != 32:
        fail("bad root")
    return origin, int(size), root


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main(args):
    if args[:1] == ["verify"] and len(args) == 3:
        name, kid, pub = parse_vkey(args[1], 0x01)
        body, sigs = split_note(read(args[2]))
        try:
            pub.verify(only_sig(sigs, name, kid), body.encode())
        except InvalidSignature:
            fail("signature does not verify")
        origin, size, root = checkpoint(body)
        print(f"ok {origin} {size} {root}")
    elif args[:1] == ["sign"] and len(args) == 4:
        name = args[1]
        key = Ed25519PrivateKey.generate()
        pk = raw_public(key)
        body = read(args[2])
        sig = key_id(name, 0x01, pk) + key.sign(body.encode())
        write(args[3], f"{body}\n{DASH}{name} {b64(sig)}\n")
        print(vkey_text(name, 0x01, pk))
    elif args[:1] == ["verify-cosignature"] and len(args) == 3:
        name, kid, pub = parse_vkey(args[1], 0x04)
        body, sigs = split_note(read(args[2]))
        checkpoint(body)
        sig = only_sig(sigs, name, kid)
        if len(sig) != 8 + 64:
            fail("bad cosignature length")
        ts = int.from_bytes(sig[:8], "big")
        msg = f"cosignature/v1\ntime {ts}\n{body}".encode()
        try:
            pub.verify(sig[8:], msg)
        except InvalidSignature:
            fail("cosignature does not verify")
        print(f"ok {ts}")
    elif args[:1] == ["cosign"] and len(args) == 5:
        name, ts = args[1], int(args[3])
        key = Ed25519PrivateKey.generate()
        pk = raw_public(key)
        note = read(args[2])
        body, _ = split_note(note)
        checkpoint(body)
        msg = f"cosignature/v1\ntime {ts}\n{body}".encode()
        sig = key_id(name, 0x04, pk) + ts.to_bytes(8, "big") + key.sign(msg)
        write(args[4], f"{note}{DASH}{name} {b64(sig)}\n")
        print(vkey_text(name, 0x04, pk))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
