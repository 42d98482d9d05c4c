//! Signed notes, checkpoints, cosignatures and proof files of the audit log.

use crate::audit::checkpoint::Checkpoint;
use crate::audit::note::{CosignatureVerifier, MAX_SIGNATURES, Note, NoteSigner, NoteVerifier};
use crate::audit::proof_file::TlogProof;

/// Log key for [`fuzz_notes`]: the public test key of golang.org/x/mod/sumdb/note's tests.
const FUZZ_NOTE_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Witness key for [`fuzz_notes`]: made for the committed seeds, its private half discarded.
const FUZZ_WITNESS_VKEY: &str =
    "witness.zhengzhao.example/fuzz+b1b762cf+BEd+kSUQSYyMqH9O4inGb+2crc2BdsIo210NvBAoe05g";

/// Feed `data` (read as UTF-8, invalid sequences replaced) to the parsers of
/// [`crate::audit::note`], [`crate::audit::checkpoint`] and [`crate::audit::proof_file`]:
/// [`Note::parse`], [`Checkpoint::parse_body`], [`TlogProof::parse`], [`NoteVerifier::parse`],
/// [`CosignatureVerifier::parse`] and [`NoteSigner::from_private_key`]; and to verification
/// with a fixed log key and witness key ([`NoteVerifier::verify`], [`Checkpoint::open`],
/// [`CosignatureVerifier::verify`], [`TlogProof::verify`] with the proof's extra data, or
/// `entry 0`, as the entry).
///
/// Panics (which is what a fuzzer looks for) if any of them panics, or if an accepted input
/// does not come back byte for byte from its printer (a note's [`Note::to_text`], a
/// checkpoint's [`Checkpoint::body`], a proof's [`TlogProof::to_text`], a key's `vkey()`) and
/// re-parse equal; or if a verified note's body is not the parsed note's body. Never panics
/// otherwise. The embedded keys failing to load is also a panic: it is a bug.
pub fn fuzz_notes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let log = match NoteVerifier::parse(FUZZ_NOTE_VKEY) {
        Ok(v) => v,
        Err(e) => panic!("the embedded log key does not load: {e}"),
    };
    let witness = match CosignatureVerifier::parse(FUZZ_WITNESS_VKEY) {
        Ok(v) => v,
        Err(e) => panic!("the embedded witness key does not load: {e}"),
    };

    let note = Note::parse(s);
    if let Ok(note) = &note {
        assert_eq!(note.to_text(), s);
        assert_eq!(Note::parse(&note.to_text()).as_ref(), Ok(note));
        assert!((1..=MAX_SIGNATURES).contains(&note.signatures.len()));
    }
    if let Ok(body) = log.verify(s) {
        assert_eq!(note.as_ref().map(|n| n.body), Ok(body));
    }
    if let Ok(checkpoint) = Checkpoint::open(s, &log, None) {
        let body = note.as_ref().map(|n| n.body);
        assert_eq!(body, Ok(checkpoint.body().as_str()));
    }
    if witness.verify(s).is_ok() {
        assert!(note.is_ok());
    }

    if let Ok(checkpoint) = Checkpoint::parse_body(s) {
        let body = checkpoint.body();
        assert_eq!(body, s);
        assert_eq!(Checkpoint::parse_body(&body), Ok(checkpoint));
    }

    if let Ok(proof) = TlogProof::parse(s) {
        let again = proof.to_text();
        assert_eq!(again, s);
        assert_eq!(TlogProof::parse(&again).as_ref(), Ok(&proof));
        let entry = proof.extra.as_deref().unwrap_or(b"entry 0");
        if let Ok(checkpoint) = proof.verify(entry, &log, None) {
            assert!(proof.index < checkpoint.size);
        }
    }

    if let Ok(key) = NoteVerifier::parse(s) {
        assert_eq!(key.vkey(), s);
        assert_eq!(NoteVerifier::parse(&key.vkey()).as_ref(), Ok(&key));
    }
    if let Ok(key) = CosignatureVerifier::parse(s) {
        assert_eq!(key.vkey(), s);
        assert_eq!(CosignatureVerifier::parse(&key.vkey()).as_ref(), Ok(&key));
    }
    if let Ok(signer) = NoteSigner::from_private_key(s) {
        assert_eq!(NoteVerifier::parse(&signer.vkey()), Ok(signer.verifier()));
    }
}
