"""An independent implementation of the licence format, on Python's `cryptography`.

It shares no code with zhengzhao. Two modes:

  jose.py verify TOKEN_FILE ROOT_PEM
      Checks a licence zhengzhao issued: the ES256 signature (raw r||s) over the signing
      input with the x5c leaf's key, the leaf issued by ROOT_PEM, the licence-signing EKU,
      digitalSignature, SAN URIs naming iss and lic.region, and the leaf valid at iat.
      Prints "ok" and exits 0, or prints what failed and exits 1.

  jose.py sign PAYLOAD_FILE REGION USCC OUT_DIR
      Makes its own root CA and document signer (P-256) and signs PAYLOAD_FILE as an ES256
      licence. Writes OUT_DIR/root.pem and OUT_DIR/licence.jws.
"""

import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID

LICENCE_EKU = x509.ObjectIdentifier("2.25.91810980038859142214668408484851701763")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fail(msg):
    print(msg)
    sys.exit(1)


def verify(token_file, root_file):
    token = open(token_file).read().strip()
    h, p, s = token.split(".")
    header = json.loads(b64url_decode(h))
    payload = json.loads(b64url_decode(p))
    sig = b64url_decode(s)
    if header.get("alg") != "ES256" or header.get("typ") != "licence+jwt":
        fail(f"unexpected header {header}")
    if len(sig) != 64:
        fail(f"signature is {len(sig)} bytes, not raw r||s")
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0], validate=True))
    root = x509.load_pem_x509_certificate(open(root_file, "rb").read())
    r = int.from_bytes(sig[:32], "big")
    s_ = int.from_bytes(sig[32:], "big")
    try:
        leaf.public_key().verify(
            encode_dss_signature(r, s_), f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())
        )
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        fail(f"signature does not verify: {e!r}")
    try:
        leaf.verify_directly_issued_by(root)
    except Exception as e:  # noqa: BLE001
        fail(f"leaf not issued by root: {e!r}")
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if LICENCE_EKU not in eku:
        fail("no licence-signing EKU")
    if not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
        fail("no digitalSignature")
    uris = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.UniformResourceIdentifier)
    if f"urn:gb32100:{payload['iss']}" not in uris:
        fail(f"iss {payload['iss']} not in SANs {uris}")
    if f"urn:gbt2260:{payload['lic']['region']}" not in uris:
        fail(f"region not in SANs {uris}")
    iat = datetime.datetime.fromtimestamp(payload["iat"], datetime.timezone.utc)
    if not (leaf.not_valid_before_utc <= iat <= leaf.not_valid_after_utc):
        fail("leaf not valid at iat")
    print("ok")


def name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "互认测试发证机关"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def sign(payload_file, region, uscc, out_dir):
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    later = datetime.datetime(2036, 1, 1, tzinfo=datetime.timezone.utc)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(name("independent root CA"))
        .issuer_name(name("independent root CA"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("independent document signer"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([LICENCE_EKU]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.UniformResourceIdentifier(f"urn:gbt2260:{region}"),
                    x509.UniformResourceIdentifier(f"urn:gb32100:{uscc}"),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    header = {
        "alg": "ES256",
        "typ": "licence+jwt",
        "x5c": [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()],
    }
    payload = open(payload_file, "rb").read()
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(payload)}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with open(f"{out_dir}/root.pem", "wb") as f:
        f.write(root.public_bytes(serialization.Encoding.PEM))
    with open(f"{out_dir}/licence.jws", "w") as f:
        f.write(f"{signing_input}.{b64url(sig)}\n")
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(*sys.argv[2:4])
    elif sys.argv[1] == "sign":
        sign(*sys.argv[2:6])
    else:
        fail(f"unknown mode {sys.argv[1]}")
