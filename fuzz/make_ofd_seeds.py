#!/usr/bin/env python3
"""Writes the seeds of the `ofd` fuzz target into fuzz/corpus/ofd/ (docs/fuzzing.md).

ofdrw's test files (fixtures/ofd/ofdrw/) are copied as `ofdrw.<name>`; two of its documents are
also re-packed without compression (`ofdrw.<name>-stored.ofd`: the same files, so the same
signatures, in bytes a fuzzer can change meaningfully); and small zips made here show each
thing the package reader must refuse (`odd.*`). Deterministic: run it again and nothing changes.

    python3 fuzz/make_ofd_seeds.py
"""

import io
import warnings
import pathlib
import shutil
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OFDRW = ROOT / "fixtures" / "ofd" / "ofdrw"
OUT = ROOT / "fuzz" / "corpus" / "ofd"
WHEN = (2020, 4, 25, 13, 2, 0)

COPIED = [
    "allprotected.ofd",
    "V4RideRight.ofd",
    "h.ofd",
    "SESV4SignDoc.ofd",
    "DigitalSign.ofd",
    "helloworld.ofd",
    "UserV1.esl",
    "UserV4.esl",
    "UserV5.esl",
    "SignedValueV4.dat",
]
EXTRACTED = [
    "allprotected-Sign_0-SignedValue.dat",
    "SESV4SignDoc-Sign_0-SignedValue.dat",
    "DigitalSign-Sign_0-SignedValue.dat",
]


def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    """A zip of (name, bytes) in order, names written exactly as given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, WHEN)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def files_of(path):
    """The files (not directories) of an OFD package, in zip order."""
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]


def main():
    warnings.filterwarnings("ignore", "Duplicate name")  # odd.zip-name-duplicate, on purpose
    OUT.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(OFDRW / name, OUT / f"ofdrw.{name}")
    for name in EXTRACTED:
        shutil.copyfile(OFDRW / "extracted" / name, OUT / f"ofdrw.extracted.{name}")
    for name in ["allprotected", "DigitalSign", "helloworld"]:
        files = files_of(OFDRW / f"{name}.ofd")
        (OUT / f"ofdrw.{name}-stored.ofd").write_bytes(zip_of(files, zipfile.ZIP_STORED))

    hello = files_of(OFDRW / "helloworld.ofd")
    ofd_xml = dict(hello)["OFD.xml"]
    seeds = {
        # The end-of-central-directory record alone: a zip of nothing.
        "odd.zip-empty": b"PK\x05\x06" + b"\x00" * 18,
        # One entry, OFD.xml, whose DocRoot is missing.
        "odd.zip-one-entry": zip_of([("OFD.xml", ofd_xml)]),
        # Entry names a verifier must refuse, beside a readable document.
        "odd.zip-name-traversal": zip_of(hello + [("../Doc_0/Document.xml", b"<x/>")]),
        "odd.zip-name-absolute": zip_of(hello + [("/OFD.xml", ofd_xml)]),
        "odd.zip-name-backslash": zip_of(hello + [("Doc_0\\evil.xml", b"<x/>")]),
        "odd.zip-name-duplicate": zip_of(hello + [("OFD.xml", ofd_xml)]),
        "odd.zip-name-case-collision": zip_of(hello + [("ofd.xml", ofd_xml)]),
        # A page of 1 MiB of zeros deflated to about a kilobyte: a ratio no OFD file has.
        "odd.zip-bomb-1mib-of-zeros": zip_of(
            [(n, d) for n, d in hello if n != "Doc_0/Pages/Page_0/Content.xml"]
            + [("Doc_0/Pages/Page_0/Content.xml", b"\x00" * (1 << 20))]
        ),
        # A DocRoot that leaves the package.
        "odd.ofd-docroot-outside": zip_of(
            [("OFD.xml", ofd_xml.replace(b"Doc_0/Document.xml", b"../../Doc_0/Document.xml"))]
            + [(n, d) for n, d in hello if n != "OFD.xml"]
        ),
    }
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
