#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Signed notes, checkpoints, cosignatures and proof files (`zhengzhao::audit::{note,
//! checkpoint, proof_file}`): known answers, interop with an independent Python implementation
//! (tests/notes/note.py), and a test naming each refusal.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use support::root;
use zhengzhao::audit::checkpoint::Checkpoint;
use zhengzhao::audit::merkle::{self, Hash, ProofError};
use zhengzhao::audit::note::{
    CosignatureSigner, CosignatureVerifier, MAX_NOTE_BYTES, MAX_SIGNATURES, Note, NoteError,
    NoteSigner, NoteVerifier, key_id,
};
use zhengzhao::audit::proof_file::{MAX_PROOF_HASHES, TlogProof};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A public test key and note from golang.org/x/mod/sumdb/note's tests (note_test.go).
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// The checkpoint example of c2sp.org/tlog-checkpoint, with the witness cosignature from
/// c2sp.org/tlog-cosignature (no public keys are published for either).
const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

const ORIGIN: &str = "zhengzhao.example/audit/370900";

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.to_owned(),
        size,
        root: [7u8; 32],
        extensions: Vec::new(),
    }
}

fn signed_checkpoint() -> (NoteSigner, String) {
    let (signer, _) = NoteSigner::generate(ORIGIN).unwrap();
    let note = checkpoint(42).sign(&signer).unwrap();
    (signer, note)
}

/// A signature line by `name` with `bytes` as the decoded signature.
fn sig_line(name: &str, bytes: &[u8]) -> String {
    format!("— {name} {}\n", STANDARD.encode(bytes))
}

fn parse_err(text: &str) -> NoteError {
    Note::parse(text).unwrap_err()
}

// ---------------------------------------------------------------------------------------------
// Known answers

#[test]
fn go_test_key_reads_back_with_its_vkey_and_signs_the_same_bytes() {
    let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(signer.vkey(), PETER_VKEY);
    // Ed25519 is deterministic: the same key signs the same text into the same bytes.
    assert_eq!(
        signer.sign(GO_TEXT).unwrap(),
        format!("{GO_TEXT}\n{PETER_SIG}")
    );
}

#[test]
fn go_test_note_with_two_signatures_verifies_under_each_key() {
    let note = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
    let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
    assert_eq!(peter.verify(&note), Ok(GO_TEXT));
    assert_eq!(enoch.verify(&note), Ok(GO_TEXT));
    assert_eq!(peter.vkey(), PETER_VKEY);
    assert_eq!(enoch.key_id(), [0xaf, 0x0c, 0xfe, 0x78]);
    let parsed = Note::parse(&note).unwrap();
    assert_eq!(parsed.signatures.len(), 2);
    assert_eq!(parsed.to_text(), note);
}

#[test]
fn go_test_note_with_a_corrupted_signature_is_refused() {
    // As in note_test.go: "ABCD" spliced into the base64 of Peter's signature.
    let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
    assert_eq!(
        peter.verify(&format!("{GO_TEXT}\n{bad}")),
        Err(NoteError::SignatureInvalid {
            name: "PeterNeumann".into(),
            key_id: "c74f20a3".into()
        })
    );
}

#[test]
fn spec_checkpoint_and_cosignature_examples_parse() {
    let note = Note::parse(SPEC_CHECKPOINT).unwrap();
    let cp = Checkpoint::parse_body(note.body).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert_eq!(cp.body(), note.body);
    assert_eq!(note.signatures.len(), 2);
    // The witness line is a cosignature: key id, the timestamp of the spec's signed-message
    // example, and a 64-byte Ed25519 signature.
    let w = &note.signatures[1];
    assert_eq!(w.name, "witness.example.com/w1");
    assert_eq!(w.signature.len(), 8 + 64);
    let ts = u64::from_be_bytes(w.signature[..8].try_into().unwrap());
    assert_eq!(ts, 1_679_315_147);
    assert_eq!(note.to_text(), SPEC_CHECKPOINT);
}

#[test]
fn spec_signed_note_example_with_an_empty_body_line_is_refused_on_purpose() {
    // c2sp.org/signed-note allows empty lines inside a note body; this node reads only
    // checkpoints and refuses them.
    let text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\
                — quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    assert_eq!(parse_err(text), NoteError::EmptyBodyLine { line: 3 });
}

#[test]
fn key_id_is_sha256_of_name_newline_type_and_key() {
    let v = NoteVerifier::parse(PETER_VKEY).unwrap();
    let pk = &STANDARD
        .decode(PETER_VKEY.rsplit('+').next().unwrap())
        .unwrap()[1..];
    assert_eq!(key_id("PeterNeumann", 0x01, pk), v.key_id());
    assert_ne!(key_id("PeterNeumann", 0x04, pk), v.key_id());
}

// ---------------------------------------------------------------------------------------------
// Interop with tests/notes/note.py

fn python(args: &[&str]) -> Output {
    let out = support::command::python(&root().join("tests/notes/note.py"), args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "note.py: {err}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_checkpoint_signed_here_verifies_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let (signer, _) = NoteSigner::generate(ORIGIN).unwrap();
    let mut cp = checkpoint(20_852_163);
    cp.extensions.push("ext 证照".into());
    let note = cp.sign(&signer).unwrap();
    let path = dir.path().join("checkpoint");
    std::fs::write(&path, &note).unwrap();
    let out = python(&["verify", &signer.vkey(), path.to_str().unwrap()]);
    assert_eq!(
        stdout(&out),
        format!("ok {ORIGIN} 20852163 {}", STANDARD.encode(cp.root))
    );
    assert!(out.status.success());

    // The Python side is not a rubber stamp: one changed byte of the body fails there too.
    std::fs::write(&path, note.replacen("20852163", "20852164", 1)).unwrap();
    let out = python(&["verify", &signer.vkey(), path.to_str().unwrap()]);
    assert_eq!(stdout(&out), "signature does not verify");
    assert!(!out.status.success());
}

#[test]
fn a_checkpoint_python_signed_verifies_here() {
    let dir = tempfile::tempdir().unwrap();
    let cp = checkpoint(5);
    let body = dir.path().join("body");
    let note_path = dir.path().join("note");
    std::fs::write(&body, cp.body()).unwrap();
    let out = python(&[
        "sign",
        "python.example/log",
        body.to_str().unwrap(),
        note_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let verifier = NoteVerifier::parse(&stdout(&out)).unwrap();
    assert_eq!(verifier.name(), "python.example/log");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert_eq!(Checkpoint::open(&note, &verifier, Some(ORIGIN)), Ok(cp));
}

#[test]
fn a_cosignature_made_here_verifies_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let (_, note) = signed_checkpoint();
    let (witness, _) = CosignatureSigner::generate("witness.example/w1").unwrap();
    let body = Note::parse(&note).unwrap().body;
    let cosigned = format!("{note}{}", witness.cosign(body, 1_679_315_147).unwrap());
    let path = dir.path().join("cosigned");
    std::fs::write(&path, &cosigned).unwrap();
    let out = python(&[
        "verify-cosignature",
        &witness.vkey(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), "ok 1679315147");
    assert!(out.status.success());
}

#[test]
fn a_cosignature_python_made_verifies_here() {
    let dir = tempfile::tempdir().unwrap();
    let (log, note) = signed_checkpoint();
    let input = dir.path().join("note");
    let output = dir.path().join("cosigned");
    std::fs::write(&input, &note).unwrap();
    let out = python(&[
        "cosign",
        "python.example/witness",
        input.to_str().unwrap(),
        "1700000000",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let witness = CosignatureVerifier::parse(&stdout(&out)).unwrap();
    let cosigned = std::fs::read_to_string(&output).unwrap();
    assert_eq!(witness.verify(&cosigned), Ok(1_700_000_000));
    // The log's own signature still verifies with the cosignature line added.
    assert_eq!(
        Checkpoint::open(&cosigned, &log.verifier(), Some(ORIGIN)),
        Ok(checkpoint(42))
    );
}

// ---------------------------------------------------------------------------------------------
// Keys

#[test]
fn generated_keys_read_back_from_their_private_text() {
    let (signer, text) = NoteSigner::generate("zhengzhao.example/log").unwrap();
    assert!(text.starts_with("PRIVATE+KEY+zhengzhao.example/log+"));
    assert!(text.ends_with('\n'));
    let again = NoteSigner::from_private_key(&text).unwrap();
    let without_newline = NoteSigner::from_private_key(text.trim_end_matches('\n')).unwrap();
    assert_eq!(again.vkey(), signer.vkey());
    assert_eq!(without_newline.vkey(), signer.vkey());
    assert_eq!(NoteVerifier::parse(&signer.vkey()), Ok(signer.verifier()));

    let (witness, text) = CosignatureSigner::generate("zhengzhao.example/witness").unwrap();
    let again = CosignatureSigner::from_private_key(&text).unwrap();
    assert_eq!(again.vkey(), witness.vkey());
    assert_eq!(again.key_id(), witness.key_id());
    assert_eq!(
        CosignatureVerifier::parse(&witness.vkey()),
        Ok(witness.verifier())
    );
}

#[test]
fn signer_debug_and_key_errors_do_not_show_the_private_key() {
    let (signer, text) = NoteSigner::generate("log").unwrap();
    // PRIVATE+KEY+<name>+<key id>+<base64>: the base64 may itself contain '+'.
    let secret = text.trim_end().splitn(5, '+').nth(4).unwrap().to_owned();
    assert!(secret.len() > 40, "{secret}");
    let debug = format!("{signer:?}");
    assert!(debug.contains("log") && debug.contains(&hex::encode(signer.key_id())));
    assert!(!debug.contains(&secret[..8]), "{debug}");
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    assert!(format!("{witness:?}").contains(&hex::encode(witness.key_id())));

    // A wrong key id, a dropped character, a changed type byte: no error shows the key.
    let wrong_id = text.replacen(&hex::encode(signer.key_id()), "00000000", 1);
    let truncated = text[..text.len() - 3].to_owned();
    for bad in [wrong_id, truncated, format!("x{text}")] {
        let err = NoteSigner::from_private_key(&bad).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&secret[..8]), "{shown}");
    }
}

#[test]
fn refuses_every_substring_and_every_one_byte_change_of_a_key() {
    // As note_test.go does for Go's parser.
    let manglings = |key: &str| {
        let b = key.as_bytes();
        let mut out = Vec::new();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    out.push(b[i..j].to_vec());
                }
            }
        }
        for i in 0..b.len() {
            let mut c = b.to_vec();
            c[i] = c[i].wrapping_add(1);
            out.push(c);
        }
        out.into_iter().filter_map(|v| String::from_utf8(v).ok())
    };
    for bad in manglings(PETER_VKEY) {
        assert!(NoteVerifier::parse(&bad).is_err(), "{bad}");
    }
    for bad in manglings(PETER_SKEY) {
        // One trailing newline is allowed, so "…\n" minus nothing is not a mangling here.
        assert!(NoteSigner::from_private_key(&bad).is_err(), "{bad}");
    }
}

#[test]
fn refuses_a_private_key_without_the_prefix() {
    let skey = PETER_SKEY.strip_prefix("PRIVATE+KEY+").unwrap();
    assert_eq!(
        NoteSigner::from_private_key(skey).unwrap_err(),
        NoteError::MalformedPrivateKey
    );
    assert_eq!(
        NoteSigner::from_private_key(&PETER_SKEY.replace("PRIVATE+KEY", "private+key"))
            .unwrap_err(),
        NoteError::MalformedPrivateKey
    );
}

#[test]
fn refuses_a_private_key_with_the_wrong_key_id() {
    assert_eq!(
        NoteSigner::from_private_key(&PETER_SKEY.replace("c74f20a3", "c74f20a4")).unwrap_err(),
        NoteError::KeyIdMismatch
    );
    assert_eq!(
        NoteSigner::from_private_key(&PETER_SKEY.replace("c74f20a3", "C74F20A3")).unwrap_err(),
        NoteError::MalformedPrivateKey
    );
}

#[test]
fn refuses_a_private_key_with_more_than_one_trailing_newline_or_a_crlf() {
    assert_eq!(
        NoteSigner::from_private_key(&format!("{PETER_SKEY}\n\n")).unwrap_err(),
        NoteError::BadBase64 {
            field: "private key"
        }
    );
    assert_eq!(
        NoteSigner::from_private_key(&format!("{PETER_SKEY}\r\n")).unwrap_err(),
        NoteError::BadBase64 {
            field: "private key"
        }
    );
}

#[test]
fn refuses_a_note_key_as_a_witness_key_and_the_other_way_round() {
    assert_eq!(
        CosignatureSigner::from_private_key(PETER_SKEY).unwrap_err(),
        NoteError::WrongAlgorithm {
            found: 0x01,
            expected: 0x04
        }
    );
    let (_, witness) = CosignatureSigner::generate("w").unwrap();
    assert_eq!(
        NoteSigner::from_private_key(&witness).unwrap_err(),
        NoteError::WrongAlgorithm {
            found: 0x04,
            expected: 0x01
        }
    );
    assert_eq!(
        CosignatureVerifier::parse(PETER_VKEY).unwrap_err(),
        NoteError::WrongAlgorithm {
            found: 0x01,
            expected: 0x04
        }
    );
}

#[test]
fn refuses_a_vkey_with_the_wrong_type_byte() {
    // Type byte 0x65 ('Z' in place of 'A') with the key id recomputed for it: still refused.
    let pk = &STANDARD
        .decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        .unwrap()[1..];
    let mut material = vec![0x65];
    material.extend_from_slice(pk);
    let vkey = format!(
        "PeterNeumann+{}+{}",
        hex::encode(key_id("PeterNeumann", 0x65, pk)),
        STANDARD.encode(&material)
    );
    assert_eq!(
        NoteVerifier::parse(&vkey).unwrap_err(),
        NoteError::WrongAlgorithm {
            found: 0x65,
            expected: 0x01
        }
    );
}

#[test]
fn refuses_a_vkey_with_the_wrong_key_id() {
    assert_eq!(
        NoteVerifier::parse(&PETER_VKEY.replace("c74f20a3", "c74f20a4")).unwrap_err(),
        NoteError::KeyIdMismatch
    );
    for id in ["C74F20A3", "c74f20a", "c74f20a30", "+c74f20a3", "c74f2 a3"] {
        let vkey = PETER_VKEY.replace("c74f20a3", id);
        assert!(NoteVerifier::parse(&vkey).is_err(), "{vkey}");
    }
}

#[test]
fn refuses_a_vkey_with_bad_base64() {
    for key in [
        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
        " ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert_eq!(
            NoteVerifier::parse(&format!("PeterNeumann+c74f20a3+{key}")).unwrap_err(),
            NoteError::BadBase64 {
                field: "verifier key"
            },
            "{key:?}"
        );
    }
}

#[test]
fn refuses_a_vkey_with_the_wrong_key_length() {
    for len in [0, 31, 33, 64] {
        let key = vec![0x42u8; len];
        let mut material = vec![0x01];
        material.extend_from_slice(&key);
        let vkey = format!(
            "n+{}+{}",
            hex::encode(key_id("n", 0x01, &key)),
            STANDARD.encode(&material)
        );
        assert_eq!(
            NoteVerifier::parse(&vkey).unwrap_err(),
            NoteError::WrongKeyLength {
                field: "verifier key",
                len: len + 1
            },
            "{len}"
        );
    }
    // From note_test.go: a longer key with its key id adjusted (here also non-canonical).
    assert!(
        NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
}

#[test]
fn refuses_a_vkey_with_a_bad_name() {
    for vkey in [
        PETER_VKEY.replace("PeterNeumann", ""),
        PETER_VKEY.replace("PeterNeumann", "Peter Neumann"),
        PETER_VKEY.replace("PeterNeumann", "Peter\u{3000}Neumann"),
    ] {
        assert_eq!(
            NoteVerifier::parse(&vkey).unwrap_err(),
            NoteError::BadKeyName,
            "{vkey}"
        );
    }
    assert_eq!(
        NoteVerifier::parse("PeterNeumann+c74f20a3").unwrap_err(),
        NoteError::MalformedVerifierKey
    );
}

#[test]
fn refuses_to_make_keys_with_bad_names() {
    for name in ["", "a b", "a+b", "a\tb", "a\u{a0}b"] {
        assert_eq!(
            NoteSigner::generate(name).unwrap_err(),
            NoteError::BadKeyName,
            "{name:?}"
        );
        assert_eq!(
            CosignatureSigner::generate(name).unwrap_err(),
            NoteError::BadKeyName
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Note syntax refusals

#[test]
fn refuses_carriage_returns() {
    let note = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(
        parse_err(&note.replace('\n', "\r\n")),
        NoteError::CarriageReturn
    );
    assert_eq!(parse_err(&format!("{note}\r")), NoteError::CarriageReturn);
}

#[test]
fn refuses_other_control_characters() {
    assert_eq!(
        parse_err(&format!("\u{1}{GO_TEXT}\n{PETER_SIG}")),
        NoteError::ControlCharacter(1)
    );
    assert_eq!(
        parse_err(&format!("a\tb\n\n{PETER_SIG}")),
        NoteError::ControlCharacter(9)
    );
}

#[test]
fn refuses_a_missing_blank_line() {
    assert_eq!(
        parse_err(&format!("{GO_TEXT}{PETER_SIG}")),
        NoteError::MissingBlankLine
    );
    assert_eq!(parse_err(GO_TEXT), NoteError::MissingBlankLine);
}

#[test]
fn refuses_an_empty_body() {
    assert_eq!(parse_err(""), NoteError::EmptyBody);
    assert_eq!(parse_err(&format!("\n{PETER_SIG}")), NoteError::EmptyBody);
    assert_eq!(parse_err(&format!("\n\n{PETER_SIG}")), NoteError::EmptyBody);
}

#[test]
fn refuses_empty_body_lines() {
    assert_eq!(
        parse_err(&format!("a\n\nb\n\n{PETER_SIG}")),
        NoteError::EmptyBodyLine { line: 2 }
    );
    assert_eq!(
        parse_err(&format!("a\n\n\n{PETER_SIG}")),
        NoteError::EmptyBodyLine { line: 2 }
    );
}

#[test]
fn refuses_a_missing_final_newline() {
    let note = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(
        parse_err(note.trim_end_matches('\n')),
        NoteError::MissingFinalNewline
    );
}

#[test]
fn refuses_a_note_with_no_signature_lines() {
    assert_eq!(parse_err(&format!("{GO_TEXT}\n")), NoteError::NoSignatures);
}

#[test]
fn refuses_trailing_data_after_the_signatures() {
    let note = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(
        parse_err(&format!("{note}\n")),
        NoteError::TrailingBlankLine
    );
    assert_eq!(
        parse_err(&format!("{note}\n\n")),
        NoteError::TrailingBlankLine
    );
    assert_eq!(
        parse_err(&format!("{note}Unexpected line.\n")),
        NoteError::MissingEmDash { line: 2 }
    );
    // A second copy of the whole note after the first.
    assert!(Note::parse(&format!("{note}{note}")).is_err());
}

#[test]
fn refuses_signature_lines_without_the_em_dash() {
    for dash in [
        "- ",
        "-- ",
        "\u{2013} ",
        "\u{2014}",
        "\u{2014}\u{a0}",
        " \u{2014} ",
    ] {
        let line = PETER_SIG.replacen("\u{2014} ", dash, 1);
        assert_eq!(
            parse_err(&format!("{GO_TEXT}\n{line}")),
            NoteError::MissingEmDash { line: 1 },
            "{dash:?}"
        );
    }
}

#[test]
fn refuses_malformed_signature_lines() {
    for line in [
        "— PeterNeumann\n",
        "— PeterNeumann  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        "— Peter Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM= \n",
    ] {
        assert_eq!(
            parse_err(&format!("{GO_TEXT}\n{line}")),
            NoteError::MalformedSignatureLine { line: 1 },
            "{line:?}"
        );
    }
}

#[test]
fn refuses_bad_key_names_in_signature_lines() {
    for name in [
        "Peter+Neumann",
        "Peter\u{3000}Neumann",
        "Peter\u{2003}Neumann",
    ] {
        let line = sig_line(name, &[1, 2, 3, 4, 5]);
        assert_eq!(
            parse_err(&format!("{GO_TEXT}\n{line}")),
            NoteError::BadKeyName,
            "{name:?}"
        );
    }
    assert_eq!(
        parse_err(&format!("{GO_TEXT}\n—  AQIDBAU=\n")),
        NoteError::BadKeyName
    );
}

#[test]
fn refuses_signatures_shorter_than_a_key_id_and_one_byte() {
    assert_eq!(
        parse_err(&format!("{GO_TEXT}\n{}", sig_line("a", &[1, 2, 3, 4]))),
        NoteError::SignatureTooShort { line: 1, len: 4 }
    );
    assert_eq!(
        parse_err(&format!("{GO_TEXT}\n— a \n")),
        NoteError::SignatureTooShort { line: 1, len: 0 }
    );
    assert!(Note::parse(&format!("{GO_TEXT}\n{}", sig_line("a", &[1, 2, 3, 4, 5]))).is_ok());
}

#[test]
fn refuses_non_canonical_base64_in_signatures() {
    for b64 in [
        "AQIDBAU",   // padding missing
        "AQIDBAU==", // too much padding
        "AQIDBAV=",  // non-zero trailing bits
        "AQID-AU=",  // URL-safe alphabet
        "AQID\u{a0}BAU=",
    ] {
        assert_eq!(
            parse_err(&format!("{GO_TEXT}\n— a {b64}\n")),
            NoteError::BadBase64 { field: "signature" },
            "{b64:?}"
        );
    }
}

#[test]
fn refuses_notes_over_the_size_cap() {
    let line = "x".repeat(1000) + "\n";
    let body = line.repeat(MAX_NOTE_BYTES / line.len() + 1);
    let text = format!("{body}\n{PETER_SIG}");
    assert_eq!(
        parse_err(&text),
        NoteError::TooLarge {
            len: text.len(),
            max: MAX_NOTE_BYTES
        }
    );
    let (signer, _) = NoteSigner::generate("a").unwrap();
    assert!(matches!(
        signer.sign(&body),
        Err(NoteError::TooLarge { .. })
    ));
}

#[test]
fn refuses_more_signatures_than_the_cap() {
    let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
    let other = sig_line("other", &[9u8; 68]);
    let at_cap = format!("{GO_TEXT}\n{PETER_SIG}{}", other.repeat(MAX_SIGNATURES - 1));
    assert_eq!(
        Note::parse(&at_cap).unwrap().signatures.len(),
        MAX_SIGNATURES
    );
    assert_eq!(peter.verify(&at_cap), Ok(GO_TEXT));
    let over = format!("{at_cap}{other}");
    assert_eq!(
        parse_err(&over),
        NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        }
    );
}

#[test]
fn refuses_to_sign_a_malformed_body() {
    let (signer, _) = NoteSigner::generate("a").unwrap();
    assert_eq!(signer.sign(""), Err(NoteError::EmptyBody));
    assert_eq!(signer.sign("a"), Err(NoteError::MissingFinalNewline));
    assert_eq!(
        signer.sign("a\n\nb\n"),
        Err(NoteError::EmptyBodyLine { line: 2 })
    );
    assert_eq!(signer.sign("\n"), Err(NoteError::EmptyBodyLine { line: 1 }));
    assert_eq!(signer.sign("a\r\n"), Err(NoteError::CarriageReturn));
    assert_eq!(signer.sign("a\u{7}\n"), Err(NoteError::ControlCharacter(7)));
}

// ---------------------------------------------------------------------------------------------
// Verification

#[test]
fn verify_ignores_signatures_by_other_keys_even_sharing_name_or_id() {
    let (signer, note) = signed_checkpoint();
    let v = signer.verifier();
    let id = signer.key_id();
    let mut other_id = id;
    other_id[0] ^= 1;
    // Same name, other id; other name, same id; garbage from unknown keys.
    let same_name = sig_line(signer.name(), &[other_id.as_slice(), &[0u8; 64]].concat());
    let same_id = sig_line("someone.else", &[id.as_slice(), &[0u8; 64]].concat());
    let noisy = format!("{note}{same_name}{same_id}");
    assert_eq!(v.verify(&noisy), Ok(checkpoint(42).body().as_str()));
    let first = format!(
        "{}{same_name}{same_id}{}",
        &note[..note.find('—').unwrap()],
        &note[note.find('—').unwrap()..]
    );
    assert!(v.verify(&first).is_ok());
}

#[test]
fn refuses_a_note_with_no_signature_by_the_key() {
    let (_, note) = signed_checkpoint();
    let (other, _) = NoteSigner::generate(ORIGIN).unwrap();
    assert_eq!(
        other.verifier().verify(&note),
        Err(NoteError::NoMatchingSignature {
            name: ORIGIN.into(),
            key_id: hex::encode(other.key_id())
        })
    );
}

#[test]
fn refuses_a_bad_signature_by_the_key_even_beside_a_good_one() {
    let (signer, note) = signed_checkpoint();
    let v = signer.verifier();
    let tampered = note.replacen("42", "43", 1);
    let want = Err(NoteError::SignatureInvalid {
        name: ORIGIN.into(),
        key_id: hex::encode(signer.key_id()),
    });
    assert_eq!(v.verify(&tampered), want);
    // A signature of the wrong length by this key is invalid, not skipped.
    let short = sig_line(ORIGIN, &[signer.key_id().as_slice(), &[0u8; 10]].concat());
    let body = Note::parse(&note).unwrap().body;
    assert_eq!(v.verify(&format!("{body}\n{short}")), want);
}

#[test]
fn refuses_two_signatures_by_the_same_key() {
    let (signer, note) = signed_checkpoint();
    let line = &note[note.find('—').unwrap()..];
    assert_eq!(
        signer.verifier().verify(&format!("{note}{line}")),
        Err(NoteError::DuplicateSignature {
            name: ORIGIN.into(),
            key_id: hex::encode(signer.key_id())
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

fn body_err(body: &str) -> NoteError {
    Checkpoint::parse_body(body).unwrap_err()
}

const ROOT_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

#[test]
fn checkpoints_round_trip_through_body_sign_and_open() {
    let mut cp = checkpoint(0);
    assert_eq!(cp.body(), format!("{ORIGIN}\n0\n{ROOT_B64}\n"));
    cp.extensions = vec!["— ext one".into(), "two".into()];
    cp.size = u64::MAX;
    assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp.clone()));
    let (signer, _) = NoteSigner::generate("log").unwrap();
    let note = cp.sign(&signer).unwrap();
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier(), None),
        Ok(cp.clone())
    );
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier(), Some(ORIGIN)),
        Ok(cp)
    );
}

#[test]
fn refuses_a_checkpoint_for_another_origin() {
    let (signer, note) = signed_checkpoint();
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier(), Some("other.example/log")),
        Err(NoteError::WrongOrigin {
            want: "other.example/log".into(),
            got: ORIGIN.into()
        })
    );
}

#[test]
fn refuses_a_signed_note_that_is_not_a_checkpoint() {
    let (signer, _) = NoteSigner::generate("log").unwrap();
    let note = signer.sign("hello\nworld\n").unwrap();
    assert_eq!(
        Checkpoint::open(&note, &signer.verifier(), None),
        Err(NoteError::CheckpointTooShort { lines: 2 })
    );
}

#[test]
fn refuses_tree_sizes_with_leading_zeros() {
    for size in ["00", "01", "0042"] {
        assert_eq!(
            body_err(&format!("o\n{size}\n{ROOT_B64}\n")),
            NoteError::LeadingZero { field: "tree size" },
            "{size}"
        );
    }
}

#[test]
fn refuses_tree_sizes_that_are_not_plain_decimal() {
    for size in ["+5", "-5", " 5", "5 ", "0x10", "1_000", "１２", "5e3"] {
        assert_eq!(
            body_err(&format!("o\n{size}\n{ROOT_B64}\n")),
            NoteError::NotDecimal { field: "tree size" },
            "{size}"
        );
    }
}

#[test]
fn refuses_tree_sizes_over_u64() {
    assert_eq!(
        body_err(&format!("o\n18446744073709551616\n{ROOT_B64}\n")),
        NoteError::NumberTooLarge { field: "tree size" }
    );
    assert!(Checkpoint::parse_body(&format!("o\n18446744073709551615\n{ROOT_B64}\n")).is_ok());
}

#[test]
fn refuses_root_hashes_not_32_bytes() {
    assert_eq!(
        body_err(&format!("o\n1\n{}\n", STANDARD.encode([1u8; 31]))),
        NoteError::BadHashLength {
            field: "root hash",
            len: 31
        }
    );
    assert_eq!(
        body_err(&format!("o\n1\n{}\n", STANDARD.encode([1u8; 33]))),
        NoteError::BadHashLength {
            field: "root hash",
            len: 33
        }
    );
}

#[test]
fn refuses_root_hashes_in_non_canonical_base64() {
    let no_pad = ROOT_B64.trim_end_matches('=');
    let trailing_bits = ROOT_B64.replace("c=", "d=");
    let url_safe = STANDARD.encode([0xfbu8; 32]).replace('+', "-");
    for root in [no_pad, &trailing_bits, &url_safe] {
        assert_eq!(
            body_err(&format!("o\n1\n{root}\n")),
            NoteError::BadBase64 { field: "root hash" },
            "{root}"
        );
    }
}

#[test]
fn refuses_empty_or_control_character_origins() {
    assert_eq!(
        body_err(&format!("\n1\n{ROOT_B64}\n")),
        NoteError::EmptyOrigin
    );
    assert_eq!(
        body_err(&format!("o\u{1b}\n1\n{ROOT_B64}\n")),
        NoteError::ControlCharacter(0x1b)
    );
    assert_eq!(
        body_err(&format!("o\r\n1\n{ROOT_B64}\n")),
        NoteError::CarriageReturn
    );
}

#[test]
fn refuses_checkpoint_bodies_too_short_empty_lines_or_unterminated() {
    assert_eq!(body_err(""), NoteError::EmptyBody);
    assert_eq!(
        body_err("o\n1\n"),
        NoteError::CheckpointTooShort { lines: 2 }
    );
    assert_eq!(
        body_err(&format!("o\n1\n{ROOT_B64}")),
        NoteError::MissingFinalNewline
    );
    assert_eq!(
        body_err(&format!("o\n1\n{ROOT_B64}\n\n")),
        NoteError::EmptyBodyLine { line: 4 }
    );
    assert_eq!(
        body_err(&format!("o\n1\n{ROOT_B64}\next\n\nmore\n")),
        NoteError::EmptyBodyLine { line: 5 }
    );
    assert_eq!(
        body_err(&format!("o\n\n{ROOT_B64}\n")),
        NoteError::EmptyBodyLine { line: 2 }
    );
}

#[test]
fn refuses_to_sign_checkpoints_whose_fields_do_not_read_back() {
    let (signer, _) = NoteSigner::generate("log").unwrap();
    let mut cp = checkpoint(1);
    cp.origin = "a\nb".into();
    assert_eq!(cp.sign(&signer), Err(NoteError::CheckpointNotCanonical));
    cp.origin = String::new();
    assert_eq!(cp.sign(&signer), Err(NoteError::EmptyOrigin));
    let mut cp = checkpoint(1);
    cp.extensions = vec![String::new()];
    assert_eq!(cp.sign(&signer), Err(NoteError::CheckpointNotCanonical));
    cp.extensions = vec!["x\ny".into()];
    assert_eq!(cp.sign(&signer), Err(NoteError::CheckpointNotCanonical));
    cp.extensions = vec!["x\ry".into()];
    assert_eq!(cp.sign(&signer), Err(NoteError::CarriageReturn));
}

// ---------------------------------------------------------------------------------------------
// Cosignatures

#[test]
fn cosignatures_verify_and_return_their_timestamp() {
    let (log, note) = signed_checkpoint();
    let body = Note::parse(&note).unwrap().body;
    let (witness, _) = CosignatureSigner::generate("witness.example/w1").unwrap();
    for ts in [0, 1_679_315_147, i64::MAX as u64] {
        let line = witness.cosign(body, ts).unwrap();
        assert!(line.starts_with("— witness.example/w1 ") && line.ends_with('\n'));
        let cosigned = format!("{note}{line}");
        assert_eq!(witness.verifier().verify(&cosigned), Ok(ts));
        assert!(log.verifier().verify(&cosigned).is_ok());
    }
}

#[test]
fn refuses_cosignature_timestamps_over_2_pow_63() {
    let (_, note) = signed_checkpoint();
    let body = Note::parse(&note).unwrap().body;
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    let ts = 1u64 << 63;
    assert_eq!(
        witness.cosign(body, ts),
        Err(NoteError::TimestampTooLarge(ts))
    );
    // And on reading: a line carrying such a timestamp.
    let bytes = [witness.key_id().as_slice(), &ts.to_be_bytes(), &[0u8; 64]].concat();
    assert_eq!(
        witness
            .verifier()
            .verify(&format!("{note}{}", sig_line("w", &bytes))),
        Err(NoteError::TimestampTooLarge(ts))
    );
}

#[test]
fn refuses_a_tampered_cosignature_or_one_over_another_checkpoint() {
    let (signer, note) = signed_checkpoint();
    let body = Note::parse(&note).unwrap().body;
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    let line = witness.cosign(body, 1000).unwrap();
    let invalid = Err(NoteError::SignatureInvalid {
        name: "w".into(),
        key_id: hex::encode(witness.key_id()),
    });
    // Same signature, claimed at another time.
    let mut bytes = STANDARD
        .decode(line.trim_end().rsplit(' ').next().unwrap())
        .unwrap();
    bytes[11] ^= 1;
    assert_eq!(
        witness
            .verifier()
            .verify(&format!("{note}{}", sig_line("w", &bytes))),
        invalid
    );
    // Same cosignature line on the next checkpoint.
    let next = checkpoint(43).sign(&signer).unwrap();
    assert_eq!(witness.verifier().verify(&format!("{next}{line}")), invalid);
}

#[test]
fn refuses_cosignatures_of_the_wrong_length() {
    let (_, note) = signed_checkpoint();
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    for len in [1, 7, 8, 71, 73] {
        let bytes = [witness.key_id().as_slice(), &vec![0u8; len]].concat();
        assert_eq!(
            witness
                .verifier()
                .verify(&format!("{note}{}", sig_line("w", &bytes))),
            Err(NoteError::BadCosignatureLength { len: 4 + len }),
            "{len}"
        );
    }
}

#[test]
fn refuses_to_cosign_or_accept_a_cosignature_on_something_not_a_checkpoint() {
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    assert_eq!(
        witness.cosign("hello\n", 1),
        Err(NoteError::CheckpointTooShort { lines: 1 })
    );
    let (signer, _) = NoteSigner::generate("log").unwrap();
    let note = signer.sign("hello\n").unwrap();
    assert_eq!(
        witness.verifier().verify(&note),
        Err(NoteError::CheckpointTooShort { lines: 1 })
    );
}

#[test]
fn refuses_a_note_without_this_witness_or_with_it_twice() {
    let (_, note) = signed_checkpoint();
    let body = Note::parse(&note).unwrap().body;
    let (witness, _) = CosignatureSigner::generate("w").unwrap();
    let key_id = hex::encode(witness.key_id());
    assert_eq!(
        witness.verifier().verify(&note),
        Err(NoteError::NoMatchingSignature {
            name: "w".into(),
            key_id: key_id.clone()
        })
    );
    let a = witness.cosign(body, 1).unwrap();
    let b = witness.cosign(body, 2).unwrap();
    assert_eq!(
        witness.verifier().verify(&format!("{note}{a}{b}")),
        Err(NoteError::DuplicateSignature {
            name: "w".into(),
            key_id
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Proof files

/// RFC 6962 MTH over leaf hashes, written out independently of `merkle`'s own tree code.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1 << (n - 1).ilog2();
            merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 6962 PATH(m, D[n]).
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    // The largest power of two below n.
    let k = 1 << (n - 1).ilog2();
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn entries(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
}

/// A log of `n` entries signed by a new key, and a proof for entry `index`.
fn proof_for(n: usize, index: usize) -> (NoteSigner, TlogProof) {
    let leaves: Vec<Hash> = entries(n).iter().map(|e| merkle::leaf_hash(e)).collect();
    let (signer, _) = NoteSigner::generate(ORIGIN).unwrap();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n as u64,
        root: mth(&leaves),
        extensions: Vec::new(),
    };
    let proof = TlogProof {
        extra: None,
        index: index as u64,
        hashes: path(index, &leaves),
        checkpoint: cp.sign(&signer).unwrap(),
    };
    (signer, proof)
}

fn proof_err(text: &str) -> NoteError {
    TlogProof::parse(text).unwrap_err()
}

#[test]
fn proofs_verify_for_every_entry_of_small_logs() {
    for n in 1..=9 {
        for index in 0..n {
            let (signer, proof) = proof_for(n, index);
            let text = proof.to_text();
            let parsed = TlogProof::parse(&text).unwrap();
            assert_eq!(parsed, proof);
            assert_eq!(parsed.to_text(), text);
            let cp = parsed
                .verify(&entries(n)[index], &signer.verifier(), Some(ORIGIN))
                .unwrap();
            assert_eq!(cp.size, n as u64);
        }
    }
}

#[test]
fn proof_file_layout_matches_the_spec() {
    let (_, mut proof) = proof_for(5, 3);
    proof.extra = Some(b"vrf".to_vec());
    let text = proof.to_text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some("extra dnJm"));
    assert_eq!(lines.next(), Some("index 3"));
    assert!(text.contains(&format!("\n\n{ORIGIN}\n5\n")));
    assert_eq!(TlogProof::parse(&text), Ok(proof));
}

#[test]
fn refuses_a_proof_for_another_entry_index_or_log() {
    let (signer, proof) = proof_for(7, 2);
    let v = signer.verifier();
    assert_eq!(
        proof.verify(b"entry 3", &v, None),
        Err(NoteError::Inclusion(ProofError::RootMismatch))
    );
    let mut moved = proof.clone();
    moved.index = 3;
    assert_eq!(
        moved.verify(b"entry 2", &v, None),
        Err(NoteError::Inclusion(ProofError::RootMismatch))
    );
    moved.index = 7;
    assert_eq!(
        moved.verify(b"entry 2", &v, None),
        Err(NoteError::Inclusion(ProofError::IndexOutOfRange {
            index: 7,
            size: 7
        }))
    );
    let mut short = proof.clone();
    short.hashes.pop();
    assert!(matches!(
        short.verify(b"entry 2", &v, None),
        Err(NoteError::Inclusion(ProofError::WrongLength { .. }))
    ));
    assert!(matches!(
        proof.verify(b"entry 2", &v, Some("other")),
        Err(NoteError::WrongOrigin { .. })
    ));
    let (other, _) = NoteSigner::generate(ORIGIN).unwrap();
    assert!(matches!(
        proof.verify(b"entry 2", &other.verifier(), None),
        Err(NoteError::NoMatchingSignature { .. })
    ));
}

#[test]
fn refuses_a_proof_without_its_header() {
    let text = proof_for(3, 1).1.to_text();
    for bad in [
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("c2sp.org/tlog-proof@v1\n", "", 1),
        format!("\n{text}"),
        format!(" {text}"),
        String::new(),
        "c2sp.org/tlog-proof@v1".into(),
    ] {
        assert_eq!(proof_err(&bad), NoteError::BadProofHeader, "{bad:?}");
    }
}

#[test]
fn refuses_a_proof_without_an_index_line() {
    let text = proof_for(3, 1).1.to_text();
    assert_eq!(
        proof_err(&text.replacen("index 1\n", "", 1)),
        NoteError::MissingIndex
    );
    assert_eq!(
        proof_err(&text.replacen("index 1", "Index 1", 1)),
        NoteError::MissingIndex
    );
    assert_eq!(
        proof_err("c2sp.org/tlog-proof@v1\n"),
        NoteError::MissingIndex
    );
    assert_eq!(
        proof_err("c2sp.org/tlog-proof@v1\nextra AA==\n"),
        NoteError::MissingIndex
    );
    // extra after index is not an extra line.
    assert_eq!(
        proof_err(&text.replacen("index 1\n", "index 1\nextra AA==\n", 1)),
        NoteError::BadBase64 {
            field: "proof hash"
        }
    );
}

#[test]
fn refuses_proof_indexes_with_leading_zeros_or_not_decimal() {
    let text = proof_for(3, 1).1.to_text();
    assert_eq!(
        proof_err(&text.replacen("index 1", "index 01", 1)),
        NoteError::LeadingZero { field: "index" }
    );
    for bad in ["index +1", "index  1", "index 1 ", "index ", "index 0x1"] {
        assert_eq!(
            proof_err(&text.replacen("index 1", bad, 1)),
            NoteError::NotDecimal { field: "index" },
            "{bad}"
        );
    }
    assert_eq!(
        proof_err(&text.replacen("index 1", "index 18446744073709551616", 1)),
        NoteError::NumberTooLarge { field: "index" }
    );
}

#[test]
fn refuses_proof_hashes_not_exactly_32_bytes() {
    let (_, mut proof) = proof_for(4, 1);
    let text = proof.to_text();
    let first = STANDARD.encode(proof.hashes[0]);
    assert_eq!(
        proof_err(&text.replacen(&first, &STANDARD.encode([1u8; 31]), 1)),
        NoteError::BadHashLength {
            field: "proof hash",
            len: 31
        }
    );
    assert_eq!(
        proof_err(&text.replacen(&first, first.trim_end_matches('='), 1)),
        NoteError::BadBase64 {
            field: "proof hash"
        }
    );
    proof.hashes = vec![[0u8; 32]; MAX_PROOF_HASHES];
    assert!(TlogProof::parse(&proof.to_text()).is_ok());
    proof.hashes.push([0u8; 32]);
    assert_eq!(
        proof_err(&proof.to_text()),
        NoteError::TooManyProofHashes {
            max: MAX_PROOF_HASHES
        }
    );
}

#[test]
fn refuses_a_proof_without_the_blank_line_before_its_checkpoint() {
    let (_, proof) = proof_for(1, 0);
    let text = proof.to_text();
    assert_eq!(
        proof_err(&text.replacen("index 0\n\n", "index 0\n", 1)),
        NoteError::BadBase64 {
            field: "proof hash"
        }
    );
    assert_eq!(
        proof_err("c2sp.org/tlog-proof@v1\nindex 0\n"),
        NoteError::MissingProofSeparator
    );
}

#[test]
fn refuses_an_empty_or_non_canonical_extra_line() {
    let text = proof_for(3, 1).1.to_text();
    assert_eq!(
        proof_err(&text.replacen("index", "extra \nindex", 1)),
        NoteError::EmptyExtra
    );
    assert_eq!(
        proof_err(&text.replacen("index", "extra dnJ\nindex", 1)),
        NoteError::BadBase64 {
            field: "proof extra data"
        }
    );
}

#[test]
fn refuses_a_proof_whose_checkpoint_is_malformed_or_followed_by_more() {
    let (_, proof) = proof_for(3, 1);
    let text = proof.to_text();
    assert_eq!(
        proof_err(&format!("{text}\n")),
        NoteError::TrailingBlankLine
    );
    // The second copy makes the first checkpoint's blank line part of a note body.
    assert_eq!(
        proof_err(&format!("{text}{text}")),
        NoteError::EmptyBodyLine { line: 4 }
    );
    assert_eq!(
        proof_err(&text.replacen(&format!("{ORIGIN}\n3\n"), &format!("{ORIGIN}\n03\n"), 1)),
        NoteError::LeadingZero { field: "tree size" }
    );
    assert_eq!(
        proof_err(&text.replace('\n', "\r\n")),
        NoteError::CarriageReturn
    );
    let cut = text.find("\n\n").unwrap() + 2;
    assert_eq!(proof_err(&text[..cut]), NoteError::EmptyBody);
}
