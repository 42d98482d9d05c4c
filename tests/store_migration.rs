#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! A data directory written by the previous store version (fixtures/data-v1, schema version 1:
//! no schema version, no entry index) opened by this one: migrated at the first open for
//! writing (the version marker, the index backfilled over the entries already in the log),
//! left alone at the second, its statuses readable with their codes, its log still replaying
//! against the region's key, and `audit export --licence` finding the uses logged before the
//! upgrade.

use std::path::{Path, PathBuf};
use std::process::Command;

use rocksdb::{DB, IteratorMode, Options};
use zhengzhao::node::state::{LicenceRecord, Status};
use zhengzhao::store::{COLUMN_FAMILIES, Migration, SCHEMA_VERSION, State, Store, StoreReader};

/// The holders of the fixture's licences: neither may appear in clear anywhere in it.
const HOLDER_CODES: [&str; 2] = ["11010519491231002X", "91110000600037341L"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the fixture directory in a new temporary directory: the fixture is never opened
/// in place.
fn copy_fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("370900");
    std::fs::create_dir(&to).unwrap();
    for f in std::fs::read_dir(root().join("fixtures/data-v1/370900")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
    (tmp, to)
}

/// The three licence ids the fixture's scenario issued: the business licence, its second
/// version, the person's licence.
fn licences() -> Vec<String> {
    std::fs::read_to_string(root().join("fixtures/data-v1/licences.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn zz(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhengzhao"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The entry indexes `audit export --licence ID` prints.
fn exported(dir: &Path, licence: &str) -> Vec<u64> {
    let (code, out, err) = zz(&["audit", "export", "--licence", licence], dir);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["index"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn the_fixture_holds_no_holder_code_in_clear() {
    let (_tmp, dir) = copy_fixture();
    // Every key and value of every column family, decompressed by RocksDB itself.
    let db = DB::open_cf_for_read_only(&Options::default(), &dir, COLUMN_FAMILIES, false).unwrap();
    let mut records = 0;
    for name in COLUMN_FAMILIES {
        for item in db.iterator_cf(db.cf_handle(name).unwrap(), IteratorMode::Start) {
            let (k, v) = item.unwrap();
            for bytes in [&k[..], &v[..]] {
                let text = String::from_utf8_lossy(bytes);
                for code in HOLDER_CODES {
                    assert!(!text.contains(code), "{name} holds {code} in clear");
                }
            }
            records += 1;
        }
    }
    assert!(
        records > 30,
        "only {records} records: the fixture went missing"
    );
}

#[test]
fn a_version_1_directory_is_migrated_once_and_still_replays() {
    let (_tmp, dir) = copy_fixture();
    let ids = licences();
    let (business, business2, person) = (&ids[0], &ids[1], &ids[2]);

    // Read-only, the previous version's directory is read as it is: version 1, no index.
    let reader = StoreReader::open(&dir).unwrap();
    assert_eq!(reader.schema_version().unwrap(), 1);
    assert_eq!(reader.size().unwrap(), 14);
    drop(reader);
    let (code, _, err) = zz(&["audit", "export", "--licence", person], &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("store schema version 1 has no entry index"),
        "{err}"
    );

    // The first open for writing migrates it: the version, and the index of all 14 entries.
    let store = Store::open(&dir).unwrap();
    assert_eq!(
        store.migrated(),
        Some(Migration {
            from: 1,
            to: SCHEMA_VERSION,
            entries_indexed: 14
        })
    );
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // The statuses the previous version wrote read as they are, with their codes.
    let state = State::of(&store);
    for (id, status, code) in [
        (business, Status::Superseded, "05"),
        (business2, Status::Revoked, "07"),
        (person, Status::Active, "01"),
    ] {
        let rec: LicenceRecord =
            serde_json::from_slice(&state.licence(id).unwrap().unwrap()).unwrap();
        assert_eq!((rec.status, rec.status.code()), (status, code), "{id}");
    }
    let history: LicenceRecord =
        serde_json::from_slice(&state.licence(person).unwrap().unwrap()).unwrap();
    let statuses: Vec<Status> = history.history.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [Status::Active, Status::Suspended, Status::Active]
    );
    drop(store);

    // The second open does nothing.
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.migrated(), None);
    drop(store);

    // The uses logged before the upgrade are found through the index: issuance (2, 5), the
    // new version naming its predecessor (3), status changes (4, 6, 7), lookups that handed a
    // licence out (9, 10), status reads (11, 12).
    assert_eq!(exported(&dir, business), [2, 3, 12]);
    assert_eq!(exported(&dir, business2), [3, 4, 10]);
    assert_eq!(exported(&dir, person), [5, 6, 7, 9, 11]);

    // An index row that points at an entry not naming its case is a disagreement, printed as
    // such and never as the entry.
    {
        let db = DB::open_cf(&Options::default(), &dir, COLUMN_FAMILIES).unwrap();
        let state = db.cf_handle("state").unwrap();
        db.put_cf(state, b"entries-by-case/FORGED-1/0000000000000002", b"")
            .unwrap();
    }
    let (code, out, err) = zz(&["audit", "export", "--case", "FORGED-1"], &dir);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(
            "the index disagrees with the log: it lists entry 2 for case \"FORGED-1\", which \
             does not name it"
        ),
        "{err}"
    );

    // The log still replays against the region's published key, every entry and checkpoint.
    let (code, out, err) = zz(
        &["audit", "verify", "--vkey", "certs/370900/audit.vkey"],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("verified 14 entries; root "), "{out}");
}
