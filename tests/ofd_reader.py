#!/usr/bin/env python3
"""An independent reader of sealed OFD files, for the tests: Python's zipfile and ElementTree,
a few lines of DER, and OpenSSL 3 for SM3 digests and SM2 signatures. It shares no code with
zhengzhao.

usage: ofd_reader.py FILE.ofd

For every signature listed in the document's Signatures.xml, it checks:
  - every Reference's SM3 digest (CheckMethod 1.2.156.10197.1.401),
  - that the SES_Signature (GB/T 38540 v4) in SignedValue.dat signs SM3(Signature.xml),
  - the signer's SM2 signature over TBS_Sign (with OpenSSL, distinguishing ID 1234567812345678),
  - the seal maker's SM2 signature over the seal's eSealInfo (OpenSSL, the same ID),
and that every package file but Signatures.xml and the signatures' own Signature.xml and
SignedValue.dat is referenced by some signature. It prints one line per signature
("<BaseLoc> ok <n> references") and "covered <n> files", exit 0; or the first failure, exit 1.
"""
import base64
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile

NS = {"ofd": "http://www.ofdspec.org/2016"}
SM3_OID = "1.2.156.10197.1.401"
DISTID = "distid:1234567812345678"


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def tlv(data, at):
    """(tag, start of content, end) of the DER element at `at`."""
    tag = data[at]
    n = data[at + 1]
    at += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[at:at + k], "big")
        at += k
    return tag, at, at + n


def children(data, start, end):
    out = []
    while start < end:
        tag, c, e = tlv(data, start)
        out.append((tag, start, c, e))
        start = e
    return out


def openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True)
    return r.returncode, r.stdout


def sm3(data):
    code, out = openssl("dgst", "-sm3", "-binary", data=data)
    if code != 0:
        fail("openssl cannot compute SM3")
    return out


def sm2_verify(tmp, cert_der, signed, sig_der, what):
    with open(os.path.join(tmp, "cert.der"), "wb") as f:
        f.write(cert_der)
    code, pub = openssl("x509", "-inform", "DER", "-in", os.path.join(tmp, "cert.der"),
                        "-pubkey", "-noout")
    if code != 0:
        fail(what + ": the certificate cannot be read")
    paths = {}
    for name, content in (("pub.pem", pub), ("signed.bin", signed), ("sig.der", sig_der)):
        paths[name] = os.path.join(tmp, name)
        with open(paths[name], "wb") as f:
            f.write(content)
    code, _ = openssl("dgst", "-sm3", "-verify", paths["pub.pem"], "-sigopt", DISTID,
                      "-signature", paths["sig.der"], paths["signed.bin"])
    if code != 0:
        fail(what + ": OpenSSL does not verify the SM2 signature")


def check_signature(z, tmp, base_loc):
    sig_path = base_loc.lstrip("/")
    sig_xml = z.read(sig_path)
    sig = ET.fromstring(sig_xml)
    refs = sig.find("ofd:SignedInfo/ofd:References", NS)
    if refs is None or refs.get("CheckMethod", "").lower() not in (SM3_OID, "sm3"):
        fail(base_loc + ": References CheckMethod is not SM3")
    referenced = set()
    for r in refs.findall("ofd:Reference", NS):
        path = r.get("FileRef").lstrip("/")
        if path not in z.namelist():
            fail(base_loc + ": references a missing file " + path)
        want = base64.b64decode(r.find("ofd:CheckValue", NS).text)
        if sm3(z.read(path)) != want:
            fail(base_loc + ": the digest of " + path + " does not match")
        referenced.add(path)
    value_path = sig.find("ofd:SignedValue", NS).text.lstrip("/")
    sv = z.read(value_path)
    # SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
    #                              signatureAlgID OID, signature BIT STRING, ... }
    _, c, e = tlv(sv, 0)
    parts = children(sv, c, e)
    (_, tbs_at, tbs_c, tbs_e), (_, _, cert_c, cert_e), _, (_, _, sig_c, sig_e) = parts[:4]
    tbs = sv[tbs_at:tbs_e]
    # TBS_Sign ::= SEQUENCE { version INTEGER, eseal SES_Seal, timeInfo GeneralizedTime,
    #                         dataHash BIT STRING, propertyInfo IA5String, ... }
    fields = children(sv, tbs_c, tbs_e)
    if int.from_bytes(sv[fields[0][2]:fields[0][3]], "big") != 4:
        fail(base_loc + ": not a GB/T 38540 v4 signature")
    _, seal_at, seal_c, seal_e = fields[1]
    _, _, hash_c, hash_e = fields[3]
    if sv[hash_c + 1:hash_e] != sm3(sig_xml):
        fail(base_loc + ": the signed dataHash is not SM3 of Signature.xml")
    sm2_verify(tmp, sv[cert_c:cert_e], tbs, sv[sig_c + 1:sig_e], base_loc + " signer")
    # SES_Seal ::= SEQUENCE { eSealInfo, cert OCTET STRING, signAlgID OID, signedValue BIT STRING }
    seal = children(sv, seal_c, seal_e)
    (_, info_at, _, info_e), (_, _, mc, me), _, (_, _, ms, mse) = seal[:4]
    sm2_verify(tmp, sv[mc:me], sv[info_at:info_e], sv[ms + 1:mse], base_loc + " seal maker")
    print("%s ok %d references" % (base_loc, len(referenced)))
    return referenced, {sig_path, value_path}


def main():
    z = zipfile.ZipFile(sys.argv[1])
    ofd = ET.fromstring(z.read("OFD.xml"))
    body = ofd.find("ofd:DocBody", NS)
    sigs_loc = body.find("ofd:Signatures", NS)
    if sigs_loc is None:
        fail("unsigned")
    sigs_path = sigs_loc.text.lstrip("/")
    sigs = ET.fromstring(z.read(sigs_path))
    entries = sigs.findall("ofd:Signature", NS)
    if not entries:
        fail("no signature")
    covered, machinery = set(), {sigs_path}
    with tempfile.TemporaryDirectory() as tmp:
        for s in entries:
            base = s.get("BaseLoc")
            if not base.startswith("/"):
                base = os.path.dirname(sigs_path) + "/" + base
            refs, own = check_signature(z, tmp, base)
            covered |= refs
            machinery |= own
    files = {n for n in z.namelist() if not n.endswith("/")}
    left = sorted(files - machinery - covered)
    if left:
        fail("not covered: " + " ".join(left))
    print("covered %d files" % len(files - machinery))


try:
    main()
except SystemExit:
    raise
except Exception as e:  # a structure that cannot be read is a failure, said as one
    fail("cannot read: %s: %s" % (type(e).__name__, e))
