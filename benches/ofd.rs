#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on setup failure by design
//! OFD verifications per second on one core, next to the raw SM2 verification rates of the
//! crate the verifier uses (RustCrypto `sm2`, through `gm`) and of OpenSSL (`openssl speed
//! sm2`), measured in the same run. Run with `cargo bench --bench ofd`.
//!
//! The document is `fixtures/ofd/generated/valid.one-seal.ofd`: a one-page demo licence of
//! region 370900 with one GB/T 38540 seal, verified under the region's demo SM2 root, with the
//! verifier's caches warm (the signer's and the seal maker's paths, and the seal maker's
//! signature, found in an earlier verification), as a node verifying its partners' licences
//! all day would have them. Each verification still reads the zip and its XML, recomputes
//! every reference's SM3, the data hash, and verifies the document's SM2 signature.
//! Rounds alternate between the loops so that noise from a shared machine falls on all; the
//! median round of each is reported. OpenSSL's figure is the median of three one-second
//! `openssl speed` runs taken between the rounds.
//!
//! Then issuance: the OFD 原件 of the demo request of region 370900 (the payload built, the
//! page laid out, the package zipped, every file's SM3, one SM2 signature by the seal signer),
//! next to the JWS of the same request (the payload built, one ES256 signature) and to the raw
//! SM2 signature of a short message, in alternating rounds on one core.

#[path = "support/rate.rs"]
mod rate;

use rate::{median, rate};
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use zhengzhao::gm::{Sm2PrivateKey, Sm2Signature};
use zhengzhao::ofd::report::OfdOutcome;
use zhengzhao::ofd::verify::OfdVerifier;
use zhengzhao::pki::trust::TrustStore;

const ROUND: Duration = Duration::from_millis(800);
const ROUNDS: usize = 5;
/// The time the fixtures are verified at.
const AT: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z

/// Calls between looks at the clock.
const BATCH: u64 = 8;

/// OpenSSL's SM2 verifications per second (one process, one thread), or None without it.
fn openssl_sm2_verify_rate() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "1", "sm2"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // " 256 bits SM2 (CurveSM2)   0.0006s   0.0006s   1684.8   1815.2"
    let line = text.lines().find(|l| l.contains("SM2 (CurveSM2)"))?;
    line.split_whitespace().last()?.parse().ok()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("fixtures/ofd/generated/valid.one-seal.ofd")).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add_pem(
            &std::fs::read(root.join("certs/370900/sm2-root.pem")).unwrap(),
            &["370900".parse().unwrap()],
            "sm2-root",
        )
        .unwrap();
    let verifier = OfdVerifier::new(trust);
    let report = verifier.verify(&bytes, AT);
    assert_eq!(report.outcome, OfdOutcome::Valid, "{report:#?}");

    // The raw operation: one SM2 verification (distinguishing ID, SM3 of Z ‖ M) of a short
    // message, with a key already decoded.
    let key = Sm2PrivateKey::generate().unwrap();
    let public = key.public_key();
    let msg = [7u8; 32];
    let sig: Sm2Signature = key.sign(&msg).unwrap();
    public.verify(&msg, &sig).unwrap();

    if std::env::var("ZZ_BENCH_ISSUE_ONLY").is_ok() {
        issuance(root, &key, &msg);
        return;
    }
    // For a profile of the verification alone: `ZZ_BENCH_OFD_ONLY=SECONDS` verifies the
    // document in a loop for that long and prints nothing else.
    if let Some(secs) = std::env::var("ZZ_BENCH_OFD_ONLY")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            black_box(verifier.verify(black_box(&bytes), AT));
            n += 1;
        }
        println!("{n} verifications in {secs} s");
        return;
    }
    println!(
        "machine: {} CPUs",
        std::thread::available_parallelism().unwrap()
    );
    println!(
        "document: {} bytes, {} signature(s), {} pages",
        bytes.len(),
        report.signatures.len(),
        zhengzhao::ofd::read(&bytes).unwrap().documents[0]
            .pages
            .len()
    );
    let (mut ofd, mut raw, mut ossl) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        ofd.push(rate(ROUND, BATCH, || {
            black_box(verifier.verify(black_box(&bytes), AT));
        }));
        raw.push(rate(ROUND, BATCH, || {
            black_box(public.verify(black_box(&msg), &sig)).unwrap();
        }));
        if round % 2 == 0
            && let Some(r) = openssl_sm2_verify_rate()
        {
            ossl.push(r);
        }
    }
    let (ofd, raw) = (median(ofd), median(raw));
    println!("OFD verification (whole document, caches warm), one core: {ofd:.0} /s");
    println!("raw SM2 verify, RustCrypto sm2 0.14 (gm), one core:      {raw:.0} /s");
    if ossl.is_empty() {
        println!("openssl speed sm2: not available");
    } else {
        let ossl = median(ossl);
        println!("raw SM2 verify, openssl speed sm2, one core:              {ossl:.0} /s");
        println!(
            "OFD verification = {:.1} % of OpenSSL's raw SM2 verify (goal >= 40 %); \
             the crate's raw SM2 = {:.1} % of OpenSSL's",
            100.0 * ofd / ossl,
            100.0 * raw / ossl
        );
    }
    issuance(root, &key, &msg);
}

/// OFD 原件 issuance next to JWS issuance and the raw SM2 signature (see the module doc).
fn issuance(root: &Path, key: &Sm2PrivateKey, msg: &[u8]) {
    use zhengzhao::licence::Signer;
    use zhengzhao::licence::original::OfdSigner;
    let read = |rel: &str| std::fs::read(root.join(rel)).unwrap();
    let ofd_signer = OfdSigner::from_pem(
        &read("certs/370900/seal-signer.pem"),
        &read("certs/370900/seal-signer.key"),
        &read("certs/370900/seal.esl"),
        AT,
    )
    .unwrap();
    let jws_signer = Signer::from_pem(
        &read("certs/370900/signer.pem"),
        &read("certs/370900/signer.key"),
        None,
    )
    .unwrap();
    let req: zhengzhao::licence::IssuanceRequest =
        serde_json::from_slice(&read("fixtures/requests/370900.json")).unwrap();
    let make_ofd = || {
        let (_, claims) = ofd_signer.authority().claims(&req, AT, None).unwrap();
        ofd_signer.original(&claims).unwrap()
    };
    // For a profile of issuance alone: `ZZ_BENCH_ISSUE_ONLY=SECONDS` makes 原件 in a loop for that
    // long and prints only how many.
    if let Some(secs) = std::env::var("ZZ_BENCH_ISSUE_ONLY")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            black_box(make_ofd());
            n += 1;
        }
        println!("{n} 原件 in {secs} s");
        return;
    }
    println!("OFD 原件 of the demo request: {} bytes", make_ofd().len());
    let (mut ofd, mut jws, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ofd.push(rate(ROUND, 2, || {
            black_box(make_ofd());
        }));
        jws.push(rate(ROUND, BATCH, || {
            black_box(jws_signer.issue(black_box(&req), AT).unwrap());
        }));
        raw.push(rate(ROUND, BATCH, || {
            black_box(key.sign(black_box(msg)).unwrap());
        }));
    }
    let (ofd, jws, raw) = (median(ofd), median(jws), median(raw));
    println!(
        "OFD 原件 issuance (payload, page, zip, SM3 of every file, one SM2 seal), one core: {ofd:.0} /s"
    );
    println!(
        "JWS issuance of the same request (payload, one ES256 signature), one core:        {jws:.0} /s"
    );
    println!(
        "raw SM2 sign, RustCrypto sm2 0.14 (gm), one core:                                  {raw:.0} /s"
    );
    println!(
        "OFD issuance = {:.1} % of the raw SM2 sign it needs; {:.1} % of JWS issuance",
        100.0 * ofd / raw,
        100.0 * ofd / jws
    );
}
