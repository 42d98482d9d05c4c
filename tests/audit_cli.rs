#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! `zhengzhao audit …` end to end, as real processes on a real store: keygen, verify on
//! nothing, prove and verify-proof and every way a proof must be refused, export re-hashing.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::digest;
use support::command::{p, zz};
use tempfile::TempDir;
use zhengzhao::audit::entry::{Action, Actor, EntryDraft};
use zhengzhao::audit::log::{AuditLog, LogConfig};
use zhengzhao::audit::note::{NoteSigner, NoteVerifier};

const ORIGIN: &str = "zhengzhao/370900";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit `code`, and standard error says each of `says`.
fn expect(out: &Output, code: i32, says: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}{err}", text(&out.stdout));
    for s in says {
        assert!(err.contains(s), "want {s:?} in: {err}");
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn leaf_hash(entry: &[u8]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    ctx.finish().as_ref().to_vec()
}

/// `audit keygen --out <dir>/<name>.key --region 370900 --vkey-out <dir>/<name>.vkey`: the key
/// file and the verifier key printed.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let vkey_file = dir.join(format!("{name}.vkey"));
    let out = zz(&[
        "audit",
        "keygen",
        "--out",
        p(&key),
        "--region",
        "370900",
        "--vkey-out",
        p(&vkey_file),
    ]);
    expect(&out, 0, &[]);
    let vkey = text(&out.stdout);
    assert_eq!(std::fs::read_to_string(&vkey_file).unwrap(), vkey);
    (key, vkey.trim_end().to_owned())
}

/// A store of `size` entries of log `origin`, signed with the key in `key`, with a checkpoint
/// at `checkpoint` (and none after).
fn store(dir: &Path, key: &Path, origin: &str, checkpoint: u64, size: u64) {
    let signer = NoteSigner::from_private_key(&std::fs::read_to_string(key).unwrap()).unwrap();
    let log = AuditLog::open(
        dir,
        LogConfig {
            origin: origin.into(),
            signer,
            state_file: dir.with_extension("note"),
            checkpoint_interval: None,
            adopt_store: false,
            holder_key: None,
        },
    )
    .unwrap();
    for i in 0..size {
        let mut d = EntryDraft::new(
            Actor::named(format!("window-{}", i % 3)),
            Action::AuditRead,
            "ok",
        );
        d.purpose = Some("核验".into());
        d.detail.insert("i".into(), i.into());
        log.append(d, Vec::new()).unwrap();
        if i + 1 == checkpoint {
            log.checkpoint_now().unwrap();
        }
    }
    log.close();
}

/// A store of `size` entries in `<dir>/data` of log [`ORIGIN`] with a checkpoint at
/// `checkpoint`, signed with a key made by `audit keygen` in `dir`.
fn keyed_store(dir: &Path, checkpoint: u64, size: u64) -> PathBuf {
    let (key, _) = keygen(dir, "log");
    let data = dir.join("data");
    store(&data, &key, ORIGIN, checkpoint, size);
    data
}

/// `zhengzhao audit prove` of entry `index` of the store in `data`, writing the proof and the
/// entry to the files named; exit 0 expected.
fn prove_to(data: &Path, index: u64, proof: &Path, entry: &Path) {
    let out = zz(&[
        "audit",
        "prove",
        "--data-dir",
        p(data),
        "--index",
        &index.to_string(),
        "--out",
        p(proof),
        "--entry-out",
        p(entry),
    ]);
    expect(&out, 0, &[]);
}

#[test]
fn keygen_writes_a_private_key_file_and_prints_its_verifier_key() {
    let tmp = TempDir::new().unwrap();
    let (key, vkey) = keygen(tmp.path(), "log");
    assert_eq!(mode(&key), 0o600);
    assert!(vkey.starts_with("zhengzhao/370900+"), "{vkey}");
    let signer = NoteSigner::from_private_key(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(signer.vkey(), vkey);
    assert_eq!(NoteVerifier::parse(&vkey).unwrap().name(), ORIGIN);

    // An existing key is never replaced by accident.
    let before = std::fs::read(&key).unwrap();
    let out = zz(&["audit", "keygen", "--out", p(&key), "--region", "370900"]);
    expect(&out, 2, &[p(&key)]);
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // --force replaces it, and the file is the owner's alone even if it was not before.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = zz(&["audit", "keygen", "--out", p(&key), "--force"]);
    expect(&out, 0, &[]);
    assert_ne!(std::fs::read(&key).unwrap(), before);
    assert_eq!(mode(&key), 0o600);
    assert!(text(&out.stdout).starts_with("zhengzhao+"));

    // A region that is not one is a usage error, and writes nothing.
    for bad in ["37090", "3709001", "37O900", "990000"] {
        let out_key = tmp.path().join(format!("bad-{bad}.key"));
        let out = zz(&["audit", "keygen", "--out", p(&out_key), "--region", bad]);
        expect(&out, 2, &["--region"]);
        assert!(!out_key.exists(), "{bad}");
    }
}

#[test]
fn verify_on_a_directory_without_a_store_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let (_, vkey) = keygen(tmp.path(), "log");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = tmp.path().join("missing");
    for dir in [&empty, &missing] {
        let out = zz(&["audit", "verify", "--data-dir", p(dir), "--vkey", &vkey]);
        expect(&out, 2, &[p(dir), "no audit store here"]);
        assert_eq!(
            text(&out.stderr).matches(p(dir)).count(),
            1,
            "the path once: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    assert!(!missing.exists(), "verify must not create a store");
    // A store with entries but no checkpoint yet verifies, and proves nothing.
    let (key, vkey2) = keygen(tmp.path(), "fresh");
    let fresh = tmp.path().join("fresh");
    store(&fresh, &key, ORIGIN, 0, 3);
    let out = zz(&["audit", "verify", "--data-dir", p(&fresh), "--vkey", &vkey2]);
    expect(&out, 0, &[]);
    assert_eq!(
        text(&out.stdout).split_once(" root").unwrap().0,
        "verified 3 entries;"
    );
    let out = zz(&["audit", "prove", "--data-dir", p(&fresh), "--index", "0"]);
    expect(&out, 1, &["no signed checkpoint yet"]);
    // A key that is neither a key nor a file.
    let out = zz(&[
        "audit",
        "verify",
        "--data-dir",
        p(&empty),
        "--vkey",
        "not a key",
    ]);
    expect(&out, 2, &["--vkey"]);
}

#[test]
fn prove_and_verify_proof_round_trip_and_refuse_what_does_not_hold() {
    let tmp = TempDir::new().unwrap();
    let t = tmp.path();
    let (key, vkey) = keygen(t, "log");
    let vkey_file = t.join("log.vkey");
    let data = t.join("data");
    store(&data, &key, ORIGIN, 300, 320);
    let verified = zz(&["audit", "verify", "--data-dir", p(&data), "--vkey", &vkey]);
    expect(&verified, 0, &[]);
    assert!(text(&verified.stdout).starts_with("verified 320 entries;"));

    let prove = |index: u64, name: &str| -> (PathBuf, PathBuf) {
        let proof = t.join(format!("{name}.proof"));
        let entry = t.join(format!("{name}.entry"));
        prove_to(&data, index, &proof, &entry);
        (proof, entry)
    };
    let check = |vkey: &str, entry: &Path, proof: &Path, origin: Option<&str>| -> Output {
        let mut args = vec!["audit", "verify-proof", "--vkey", vkey, "--entry", p(entry)];
        if let Some(o) = origin {
            args.extend(["--origin", o]);
        }
        args.push(p(proof));
        zz(&args)
    };

    let (proof, entry) = prove(123, "e123");
    for (k, origin) in [
        (vkey.as_str(), None),
        (p(&vkey_file), None),
        (vkey.as_str(), Some(ORIGIN)),
    ] {
        let out = check(k, &entry, &proof, origin);
        expect(&out, 0, &[]);
        assert!(
            text(&out.stdout)
                .starts_with("entry 123 is in the log `zhengzhao/370900` at size 300 (root "),
            "{}",
            text(&out.stdout)
        );
    }
    // Entries after the newest checkpoint cannot be proved yet.
    let out = zz(&["audit", "prove", "--data-dir", p(&data), "--index", "310"]);
    expect(
        &out,
        1,
        &["entry 310 is not in the newest checkpoint (size 300)"],
    );

    // A modified entry.
    let mut bytes = std::fs::read(&entry).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\"ok\"").unwrap() + 1;
    bytes[at] = b'O';
    let modified = t.join("modified.entry");
    std::fs::write(&modified, &bytes).unwrap();
    expect(
        &check(&vkey, &modified, &proof, None),
        1,
        &["the proof does not hold"],
    );

    // A proof for another index, even a neighbour sharing most of the path.
    for other in [122u64, 124, 0, 299] {
        let (other_proof, _) = prove(other, &format!("e{other}"));
        expect(
            &check(&vkey, &entry, &other_proof, None),
            1,
            &["the proof does not hold"],
        );
    }

    // A changed hash line (still canonical base64 of 32 bytes).
    let proof_text = std::fs::read_to_string(&proof).unwrap();
    let lines: Vec<&str> = proof_text.split('\n').collect();
    assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
    assert_eq!(lines[1], "index 123");
    for which in [2usize, 3, 8] {
        let mut changed: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
        let line = &mut changed[which];
        assert_eq!(line.len(), 44, "{line}");
        let c = if line.as_bytes()[10] == b'A' {
            "B"
        } else {
            "A"
        };
        line.replace_range(10..11, c);
        let bad = t.join(format!("hash{which}.proof"));
        std::fs::write(&bad, changed.join("\n")).unwrap();
        expect(
            &check(&vkey, &entry, &bad, None),
            1,
            &["the proof does not hold"],
        );
    }

    // Another key, under the same name or another.
    let (_, other_vkey) = keygen(t, "other");
    expect(
        &check(&other_vkey, &entry, &proof, None),
        1,
        &["the proof does not hold"],
    );
    let (other_named, _) = NoteSigner::generate("zhengzhao/370115").unwrap();
    expect(
        &check(&other_named.vkey(), &entry, &proof, None),
        1,
        &["the proof does not hold"],
    );

    // A checkpoint of another log, signed with the same key: only --origin tells them apart.
    let other_log = t.join("other-data");
    store(&other_log, &key, "zhengzhao/370115", 200, 200);
    prove_to(
        &other_log,
        123,
        &t.join("other.proof"),
        &t.join("other.entry"),
    );
    let (other_proof, other_entry) = (t.join("other.proof"), t.join("other.entry"));
    expect(&check(&vkey, &other_entry, &other_proof, None), 0, &[]);
    expect(
        &check(&vkey, &other_entry, &other_proof, Some(ORIGIN)),
        1,
        &["the proof does not hold", "zhengzhao/370115"],
    );
}

/// An offline copy ends where it ends: an index or a range past its end is refused naming what
/// it holds (exit 2), never answered with an empty file or a promise of a checkpoint to come;
/// an entry after its newest checkpoint is a "no" (exit 1) that says what is missing.
#[test]
fn an_index_or_range_past_the_end_of_an_offline_copy_says_so() {
    let tmp = TempDir::new().unwrap();
    let data = keyed_store(tmp.path(), 10, 17);
    let holds = "past the end of this log, which holds 17 entries, indices 0 to 16";
    let prove = |index: &str| zz(&["audit", "prove", "--data-dir", p(&data), "--index", index]);

    let out = prove("77");
    expect(&out, 2, &[&format!("--index 77: {holds}")]);
    assert!(out.stdout.is_empty());
    let out = prove("17");
    expect(&out, 2, &[&format!("--index 17: {holds}")]);
    let out = prove("12");
    expect(
        &out,
        1,
        &[
            "entry 12 is not in the newest checkpoint (size 10) this store holds: no signature covers it yet",
        ],
    );
    assert!(!text(&out.stderr).contains("wait"), "{}", text(&out.stderr));
    expect(&prove("9"), 0, &[]);

    let export = |range: &[&str]| {
        let mut args = vec!["audit", "export", "--data-dir", p(&data)];
        args.extend(range);
        zz(&args)
    };
    for (range, says) in [
        (
            &["--from", "1000", "--to", "2000"][..],
            format!("--from 1000 --to 2000: {holds}"),
        ),
        (&["--from", "17"][..], format!("--from 17: {holds}")),
        (
            &["--from", "3", "--to", "18"][..],
            format!("--from 3 --to 18: {holds}"),
        ),
        (
            &["--from", "5", "--to", "3"][..],
            "--from 5 --to 3: --from is after --to".to_owned(),
        ),
    ] {
        let out = export(range);
        expect(&out, 2, &[&says]);
        assert!(out.stdout.is_empty(), "{range:?}");
    }
    let out = export(&["--from", "3", "--to", "17"]);
    expect(&out, 0, &[]);
    assert_eq!(text(&out.stdout).lines().count(), 14);
}

#[test]
fn export_lines_rehash_and_match_what_prove_writes() {
    let tmp = TempDir::new().unwrap();
    let t = tmp.path();
    let data = keyed_store(t, 150, 150);

    let out = zz(&["audit", "export", "--data-dir", p(&data)]);
    expect(&out, 0, &[]);
    let lines: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 151, "150 lines, each ending in a newline");
    assert!(lines[150].is_empty());
    let mut entries = Vec::new();
    for (i, line) in lines[..150].iter().enumerate() {
        // `{"index":<i>,"leaf_hash":"<base64>","entry":<the entry's exact bytes>}`: the hash in
        // standard base64, as in receipts and proofs.
        let head = format!("{{\"index\":{i},\"leaf_hash\":\"");
        let rest = line
            .strip_prefix(head.as_bytes())
            .unwrap_or_else(|| panic!("line {i}: {}", text(line)));
        let (b64_hash, rest) = rest.split_at(44);
        let entry = rest
            .strip_prefix(b"\",\"entry\":")
            .and_then(|r| r.strip_suffix(b"}"))
            .unwrap_or_else(|| panic!("line {i}: {}", text(line)));
        assert_eq!(
            B64.decode(b64_hash).unwrap(),
            leaf_hash(entry),
            "line {i}: SHA-256(0x00 ‖ entry) is not the leaf hash"
        );
        // Each line is JSON, and its entry says where it belongs.
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert_eq!(v["entry"]["index"], i as u64);
        entries.push(entry.to_vec());
    }
    for index in [0u64, 77, 149] {
        let entry_file = t.join(format!("{index}.entry"));
        prove_to(&data, index, &t.join(format!("{index}.proof")), &entry_file);
        assert_eq!(
            std::fs::read(&entry_file).unwrap(),
            entries[index as usize],
            "entry {index}"
        );
    }
    // A slice, to a file.
    let slice = t.join("slice.jsonl");
    let out = zz(&[
        "audit",
        "export",
        "--data-dir",
        p(&data),
        "--from",
        "40",
        "--to",
        "45",
        "--out",
        p(&slice),
    ]);
    expect(&out, 0, &[]);
    let want: Vec<&[u8]> = lines[40..45].to_vec();
    let got = std::fs::read(&slice).unwrap();
    assert_eq!(got, [want.join(&b'\n'), b"\n".to_vec()].concat());
}
