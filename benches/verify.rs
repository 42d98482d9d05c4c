#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on setup failure by design
//! Licence verifications per second on one core, next to ring's raw P-256 verification rate
//! measured in the same run. Run with `cargo bench --bench verify`.
//!
//! Both loops verify the same ES256 signature over the same signing input; the licence loop
//! adds everything else a verification does (decoding, strict JSON, identifiers, chain cache
//! lookup, binding and date checks). Rounds alternate between the two so that noise from a
//! shared machine falls on both; the median round of each is reported.

#[path = "support/rate.rs"]
mod rate;
#[allow(dead_code)] // uses only part of the shared support
#[path = "../tests/support/mod.rs"]
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rate::{median, rate};
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use std::hint::black_box;
use std::time::Duration;
use zhengzhao::licence::{IssuanceRequest, Outcome, Signer, Verifier};
use zhengzhao::pki::cert::{PublicKey, signer_facts};

const ROUND: Duration = Duration::from_millis(700);
const ROUNDS: usize = 7;

/// Calls between looks at the clock.
const BATCH: u64 = 64;

fn main() {
    let region = "370900";
    let signer = Signer::from_pem(
        &support::read(&support::cert_path(region, "signer.pem")),
        &support::read(&support::cert_path(region, "signer.key")),
        None,
    )
    .unwrap();
    let req: IssuanceRequest = serde_json::from_str(
        r#"{"type_code":"11100000000013338W032","type_name":"建筑施工企业安全生产许可证",
            "holder":{"type":"001","code":"91110000600037341L","name":"泰安示例建设有限公司"},
            "fields":{"法定代表人":"张三","注册资本万元":5000,"许可范围":"房屋建筑工程施工总承包"}}"#,
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let token = signer.issue(&req, now).unwrap().token;
    let verifier = Verifier::new(support::demo_store());
    assert_eq!(verifier.verify(&token, now).outcome, Outcome::Valid);

    // The raw operation: one P-256 ECDSA verification of the same bytes.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(header["x5c"][0].as_str().unwrap())
        .unwrap();
    let PublicKey::P256(pk) = signer_facts(&leaf).unwrap().key else {
        panic!("the demo signer has a P-256 key");
    };
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pk);

    let (mut raw, mut full) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        raw.push(rate(ROUND, BATCH, || {
            key.verify(black_box(input.as_bytes()), black_box(&sig))
                .unwrap()
        }));
        full.push(rate(ROUND, BATCH, || {
            assert_eq!(
                verifier.verify(black_box(&token), now).outcome,
                Outcome::Valid
            )
        }));
    }
    let (raw, full) = (median(raw), median(full));
    println!("licence size: {} bytes", token.len());
    println!("ring raw P-256 verify:   {raw:>9.0} /s");
    println!("licence verification:    {full:>9.0} /s (chain validation cached by fingerprint)");
    println!("ratio: {:.1} % of raw (goal >= 70 %)", 100.0 * full / raw);
}
