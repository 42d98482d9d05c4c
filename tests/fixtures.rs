#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! The licence fixtures: every file in `fixtures/licences/` is named `<outcome>.<case>.jws`
//! and must verify to that outcome, with the demo anchors (certs/) each bound to its own
//! region, at 2026-12-01T00:00:00Z.
//!
//! The generator is the ignored test `regenerate`:
//! `cargo test --test fixtures -- --ignored regenerate` rewrites `fixtures/licences/` and
//! `fixtures/pki/` from the demo PKI in `certs/`.

#[allow(dead_code)] // uses only part of the shared support
mod support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use rcgen::KeyUsagePurpose;
use ring::hmac;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::{FIXTURE_AT, FIXTURE_IAT, REGIONS, cert_path, demo_store, read, root};
use time::macros::datetime;
use zhengzhao::codes::LicenceId;
use zhengzhao::demo::{self, Ca, DEMO_REGIONS, KeyAlg, SignerSpec, TlsSpec};
use zhengzhao::licence::{
    Claims, FieldValue, IssuanceRequest, LicenceFace, Outcome, Signer, SigningKey, Verifier,
};

#[test]
fn every_fixture_produces_its_named_outcome() {
    let verifier = Verifier::new(demo_store());
    let dir = root().join("fixtures/licences");
    let mut seen = BTreeMap::<Outcome, usize>::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".jws") {
            continue;
        }
        let expected: Outcome = name.split('.').next().unwrap().parse().unwrap();
        let token = String::from_utf8(read(&path)).unwrap();
        let report = verifier.verify(&token, FIXTURE_AT);
        *seen.entry(expected).or_default() += 1;
        if report.outcome != expected {
            failures.push(format!(
                "{name}: expected {}, got {} ({:?})",
                expected.as_str(),
                report.outcome.as_str(),
                report.first_failure()
            ));
        }
        if expected == Outcome::Valid {
            assert!(
                report.checks.iter().all(|c| c.ok),
                "{name}: {:?}",
                report.checks
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for outcome in Outcome::ALL {
        assert!(
            seen.get(&outcome).copied().unwrap_or(0) > 0,
            "no fixture for {}",
            outcome.as_str()
        );
    }
    assert!(
        seen.values().sum::<usize>() >= 45,
        "fixtures went missing: {seen:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The generator.

struct Region {
    code: &'static str,
    uscc: &'static str,
    ca: Ca,
    key: SigningKey,
    chain: Vec<Vec<u8>>,
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

fn load(code: &str) -> Region {
    let d = DEMO_REGIONS.iter().find(|r| r.code == code).unwrap();
    let s = |f: &str| String::from_utf8(read(&cert_path(code, f))).unwrap();
    Region {
        code: d.code,
        uscc: d.issuer_uscc,
        ca: Ca::from_pem(&s("licence-root.pem"), &s("licence-root.key")).unwrap(),
        key: SigningKey::from_pkcs8_pem(s("signer.key").as_bytes()).unwrap(),
        chain: vec![der(&s("signer.pem"))],
    }
}

const TYPE_CODE: &str = "11100000000013338W032";

fn claims(region: &str, uscc: &str, serial: &str) -> Claims {
    let id = LicenceId::new(TYPE_CODE.parse().unwrap(), uscc.parse().unwrap(), serial, 1).unwrap();
    Claims {
        jti: id.to_string(),
        iss: uscc.into(),
        sub: "91110000600037341L".into(),
        iat: FIXTURE_IAT,
        nbf: FIXTURE_IAT,
        exp: None,
        lic: LicenceFace {
            type_code: TYPE_CODE.into(),
            type_name: "建筑施工企业安全生产许可证".into(),
            number: format!("FIXTURE-{serial}"),
            holder_type: "001".into(),
            holder_name: "示例建设有限公司".into(),
            issuer_name: "示例行政审批服务局".into(),
            region: region.into(),
            version: "001".into(),
            fields: BTreeMap::from([("许可范围".into(), FieldValue::Text("建筑施工".into()))]),
        },
    }
}

fn header(alg: &str, x5c: &[Vec<u8>]) -> Value {
    json!({"alg": alg, "typ": "licence+jwt", "x5c": x5c.iter().map(|d| STANDARD.encode(d)).collect::<Vec<_>>()})
}

/// Signs arbitrary header and payload bytes with `key`.
fn raw(key: &SigningKey, header: &Value, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn with_signature(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn signature(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap()
}

/// ASN.1 DER of an ECDSA signature from raw r‖s.
fn der_signature(raw: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if x.first().is_some_and(|b| *b >= 0x80) {
            vec![0]
        } else {
            vec![]
        };
        v.extend(x);
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let body = [int(&raw[..32]), int(&raw[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

fn spec(region: &Region) -> SignerSpec {
    SignerSpec::standard(
        DEMO_REGIONS.iter().find(|r| r.code == region.code).unwrap(),
        KeyAlg::EcdsaP256,
    )
}

/// Issues a signer under `ca` from `spec` and returns its key and one-certificate chain.
fn signer(ca: &Ca, spec: &SignerSpec) -> (SigningKey, Vec<Vec<u8>>, String) {
    let ck = demo::issue_signer(ca, spec).unwrap();
    (
        SigningKey::from_pkcs8_pem(ck.key_pem.as_bytes()).unwrap(),
        vec![der(&ck.cert_pem)],
        ck.cert_pem,
    )
}

#[test]
#[ignore = "generator: rewrites fixtures/ from certs/"]
fn regenerate() {
    let out = root().join("fixtures/licences");
    let pki = root().join("fixtures/pki");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&pki).unwrap();
    // Every fixture is also a seed of the `licence` fuzz target.
    let corpus = root().join("fuzz/corpus/licence");
    let write = |name: &str, token: &str| {
        let text = format!("{token}\n");
        std::fs::write(out.join(format!("{name}.jws")), &text).unwrap();
        std::fs::write(corpus.join(format!("{name}.jws")), &text).unwrap();
    };
    let regions: Vec<Region> = REGIONS.iter().map(|r| load(r)).collect();
    let ta = &regions[0]; // 370900 泰安市
    let jy = &regions[1]; // 370115 济南市济阳区
    let yc = &regions[2]; // 140802 运城市盐湖区
    let good = |r: &Region, serial: &str| claims(r.code, r.uscc, serial);
    let payload = |c: &Claims| serde_json::to_vec(c).unwrap();
    let sign = |r: &Region, c: &Claims| r.key.sign_claims(&r.chain, c).unwrap();

    // valid: one per region through the real issuance path, and variants.
    for r in &regions {
        let signer = Signer::from_pem(
            &read(&cert_path(r.code, "signer.pem")),
            &read(&cert_path(r.code, "signer.key")),
            None,
        )
        .unwrap();
        let req: IssuanceRequest = serde_json::from_value(json!({
            "type_code": "11100000000013338W032",
            "type_name": "建筑施工企业安全生产许可证",
            "holder": {"type": "001", "code": "91110000600037341L", "name": "示例建设有限公司"},
            "valid_from": "2026-10-01",
            "fields": {"法定代表人": "张三", "注册资本万元": 5000, "在册": true}
        }))
        .unwrap();
        write(
            &format!("valid.{}", r.code),
            &signer.issue(&req, FIXTURE_IAT).unwrap().token,
        );
    }
    let mut person = good(ta, "PERSON0000000000001");
    person.lic.holder_type = "111".into();
    person.sub = "11010519491231002X".into();
    write("valid.person-holder", &sign(ta, &person));
    let mut dated = good(jy, "EXPIRY0000000000001");
    dated.exp = Some(FIXTURE_AT + 365 * 86400);
    write("valid.with-expiry", &sign(jy, &dated));
    let mut ed_spec = spec(ta);
    ed_spec.key_alg = KeyAlg::Ed25519;
    let (ed_key, ed_chain, _) = signer(&ta.ca, &ed_spec);
    write(
        "valid.eddsa-signer",
        &ed_key
            .sign_claims(&ed_chain, &good(ta, "EDDSA00000000000001"))
            .unwrap(),
    );
    let mut typ = header("ES256", &ta.chain);
    typ["typ"] = json!("application/LICENCE+JWT");
    write(
        "valid.typ-media-type",
        &raw(&ta.key, &typ, &payload(&good(ta, "TYP00000000000001"))),
    );

    // unsupported_algorithm
    let base = good(ta, "ALG00000000000000001");
    let p = payload(&base);
    let seg = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    write(
        "unsupported_algorithm.alg-none",
        &format!(
            "{}.{}.",
            seg(&header("none", &ta.chain)),
            URL_SAFE_NO_PAD.encode(&p)
        ),
    );
    // Algorithm confusion: the signer's public certificate used as an HMAC secret.
    let hs_input = format!(
        "{}.{}",
        seg(&header("HS256", &ta.chain)),
        URL_SAFE_NO_PAD.encode(&p)
    );
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &ta.chain[0]),
        hs_input.as_bytes(),
    );
    write(
        "unsupported_algorithm.alg-hs256",
        &format!("{hs_input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())),
    );
    for (alg, name) in [
        ("RS256", "rs256"),
        ("ES384", "es384"),
        ("PS256", "ps256"),
        ("es256", "lowercase-es256"),
        ("ES256K", "es256k"),
    ] {
        write(
            &format!("unsupported_algorithm.alg-{name}"),
            &raw(&ta.key, &header(alg, &ta.chain), &p),
        );
    }

    // malformed: header
    let mut h = header("ES256", &ta.chain);
    h["crit"] = json!(["zz-ext"]);
    h["zz-ext"] = json!(true);
    write("malformed.crit-unknown", &raw(&ta.key, &h, &p));
    for (name, value) in [
        (
            "jwk",
            json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        ),
        ("jku", json!("https://example.invalid/keys")),
        ("x5u", json!("https://example.invalid/chain.pem")),
    ] {
        let mut h = header("ES256", &ta.chain);
        h[name] = value;
        write(&format!("malformed.header-{name}"), &raw(&ta.key, &h, &p));
    }
    let mut h = header("ES256", &ta.chain);
    h.as_object_mut().unwrap().remove("x5c");
    write("malformed.x5c-missing", &raw(&ta.key, &h, &p));
    let mut h = header("ES256", &ta.chain);
    h["x5c"] = json!([]);
    write("malformed.x5c-empty", &raw(&ta.key, &h, &p));
    let mut h = header("ES256", &ta.chain);
    let url = URL_SAFE.encode(&ta.chain[0]);
    assert_ne!(
        url,
        STANDARD.encode(&ta.chain[0]),
        "the DER happens to need no + or /"
    );
    h["x5c"] = json!([url]);
    write("malformed.x5c-base64url", &raw(&ta.key, &h, &p));
    let mut h = header("ES256", &ta.chain);
    h["x5c"] = json!([STANDARD.encode([ta.chain[0].clone(), vec![0x05, 0x00]].concat())]);
    write("malformed.x5c-trailing-junk", &raw(&ta.key, &h, &p));
    let mut h = header("ES256", &ta.chain);
    h["x5c"] = json!([format!("{}AAAA", STANDARD.encode(&ta.chain[0]))]);
    write("malformed.x5c-base64-trailing-junk", &raw(&ta.key, &h, &p));
    let mut h = header("ES256", &ta.chain);
    h["x5c"] = json!([STANDARD.encode([0x30, 0x03, 0x02, 0x01, 0x00])]);
    write(
        "malformed.x5c-der-but-not-a-certificate",
        &raw(&ta.key, &h, &p),
    );
    let root_der = der(ta.ca.cert_pem());
    let five = vec![
        ta.chain[0].clone(),
        root_der.clone(),
        root_der.clone(),
        root_der.clone(),
        root_der.clone(),
    ];
    write(
        "malformed.x5c-five-certificates",
        &raw(&ta.key, &header("ES256", &five), &p),
    );
    let mut h = header("ES256", &ta.chain);
    h["typ"] = json!("JWT");
    write("malformed.typ-jwt", &raw(&ta.key, &h, &p));
    let h_text = serde_json::to_string(&header("ES256", &ta.chain)).unwrap();
    let dup_header = h_text.replacen('{', r#"{"alg":"EdDSA","#, 1);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(dup_header),
        URL_SAFE_NO_PAD.encode(&p)
    );
    let sig = ta.key.sign(input.as_bytes()).unwrap();
    write(
        "malformed.header-duplicate-keys",
        &format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)),
    );

    // malformed: payload and structure
    let h = header("ES256", &ta.chain);
    write(
        "malformed.payload-array",
        &raw(&ta.key, &h, br#"["not","an","object"]"#),
    );
    write("malformed.payload-not-json", &raw(&ta.key, &h, b"licence"));
    let text = String::from_utf8(p.clone()).unwrap();
    let dup = text.replacen(r#""sub":"#, r#""sub":"11010519491231002X","sub":"#, 1);
    assert_ne!(dup, text);
    write(
        "malformed.payload-duplicate-keys",
        &raw(&ta.key, &h, dup.as_bytes()),
    );
    let mut extra: Value = serde_json::from_slice(&p).unwrap();
    extra["admin"] = json!(true);
    write(
        "malformed.payload-unknown-claim",
        &raw(&ta.key, &h, &serde_json::to_vec(&extra).unwrap()),
    );
    let mut null_field: Value = serde_json::from_slice(&p).unwrap();
    null_field["lic"]["fields"]["x"] = Value::Null;
    write(
        "malformed.payload-null-field",
        &raw(&ta.key, &h, &serde_json::to_vec(&null_field).unwrap()),
    );
    let mut exp_null: Value = serde_json::from_slice(&p).unwrap();
    exp_null["exp"] = Value::Null;
    write(
        "malformed.payload-exp-null",
        &raw(&ta.key, &h, &serde_json::to_vec(&exp_null).unwrap()),
    );
    let mut no_fields: Value = serde_json::from_slice(&p).unwrap();
    no_fields["lic"].as_object_mut().unwrap().remove("fields");
    write(
        "malformed.payload-fields-missing",
        &raw(&ta.key, &h, &serde_json::to_vec(&no_fields).unwrap()),
    );
    let mut float_iat: Value = serde_json::from_slice(&p).unwrap();
    float_iat["iat"] = json!(1.5);
    write(
        "malformed.payload-iat-not-integer",
        &raw(&ta.key, &h, &serde_json::to_vec(&float_iat).unwrap()),
    );
    let mut big = base.clone();
    big.lic
        .fields
        .insert("附件".into(), FieldValue::Text("证".repeat(24 * 1024)));
    write("malformed.over-64-kib", &sign(ta, &big));
    let t = sign(ta, &base);
    write("malformed.four-segments", &format!("{t}.AAAA"));
    write("malformed.padded-base64url", &t.replacen('.', "=.", 1));

    // bad_signature
    let sig = signature(&t);
    write(
        "bad_signature.signature-der",
        &with_signature(&t, &der_signature(&sig)),
    );
    write(
        "bad_signature.signature-63-bytes",
        &with_signature(&t, &sig[..63]),
    );
    write(
        "bad_signature.signature-r-zero",
        &with_signature(&t, &[vec![0; 32], sig[32..].to_vec()].concat()),
    );
    write(
        "bad_signature.signature-s-zero",
        &with_signature(&t, &[sig[..32].to_vec(), vec![0; 32]].concat()),
    );
    write(
        "bad_signature.signature-all-zero",
        &with_signature(&t, &[0; 64]),
    );
    let parts: Vec<&str> = t.split('.').collect();
    let mut tampered = base.clone();
    tampered.lic.holder_name = "另一家公司".into();
    write(
        "bad_signature.tampered-payload",
        &format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload(&tampered)),
            parts[2]
        ),
    );
    let mut th = header("ES256", &ta.chain);
    th["kid"] = json!("x");
    write(
        "bad_signature.tampered-header",
        &format!("{}.{}.{}", seg(&th), parts[1], parts[2]),
    );
    write(
        "bad_signature.alg-eddsa-with-p256-key",
        &raw(&ta.key, &header("EdDSA", &ta.chain), &p),
    );
    write(
        "bad_signature.signed-by-another-key",
        &raw(&jy.key, &header("ES256", &ta.chain), &p),
    );

    // untrusted_issuer
    let tls_from_root = demo::issue_tls(
        &ta.ca,
        &TlsSpec {
            common_name: "zhengzhao-370900-tls".into(),
            organisation: "泰安市行政审批服务局".into(),
            dns_names: vec!["localhost".into()],
            ip_addresses: vec![],
            server_auth: true,
            client_auth: true,
            not_before: demo::DEMO_EE_VALIDITY.0,
            not_after: demo::DEMO_EE_VALIDITY.1,
        },
    )
    .unwrap();
    let tls_key = SigningKey::from_pkcs8_pem(tls_from_root.key_pem.as_bytes()).unwrap();
    write(
        "untrusted_issuer.tls-certificate-from-licence-root",
        &tls_key
            .sign_claims(&[der(&tls_from_root.cert_pem)], &base)
            .unwrap(),
    );
    let node_key = SigningKey::from_pkcs8_pem(&read(&cert_path("370900", "node.key"))).unwrap();
    let node_chain = vec![der(&String::from_utf8(read(&cert_path(
        "370900", "node.pem",
    )))
    .unwrap())];
    write(
        "untrusted_issuer.node-tls-certificate",
        &node_key.sign_claims(&node_chain, &base).unwrap(),
    );
    let mut tls_signer = spec(ta);
    tls_signer.licence_eku = false;
    tls_signer.tls_ekus = true;
    let (k, c, _) = signer(&ta.ca, &tls_signer);
    write(
        "untrusted_issuer.signer-with-tls-eku-only",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let mut no_eku = spec(ta);
    no_eku.licence_eku = false;
    let (k, c, _) = signer(&ta.ca, &no_eku);
    write(
        "untrusted_issuer.signer-without-eku",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let mut no_ds = spec(ta);
    no_ds.key_usage = vec![KeyUsagePurpose::ContentCommitment];
    let (k, c, _) = signer(&ta.ca, &no_ds);
    write(
        "untrusted_issuer.signer-without-digital-signature",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let mut ca_signer = spec(ta);
    ca_signer.is_ca = true;
    ca_signer.key_usage = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    let (k, c, _) = signer(&ta.ca, &ca_signer);
    write(
        "untrusted_issuer.signer-is-a-ca",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let mut expired = spec(ta);
    (expired.not_before, expired.not_after) = (
        datetime!(2020-01-01 0:00 UTC),
        datetime!(2021-01-01 0:00 UTC),
    );
    let (k, c, _) = signer(&ta.ca, &expired);
    write(
        "untrusted_issuer.signer-expired-at-signing",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let mut early = spec(ta);
    (early.not_before, early.not_after) = (
        datetime!(2030-01-01 0:00 UTC),
        datetime!(2031-01-01 0:00 UTC),
    );
    let (k, c, _) = signer(&ta.ca, &early);
    write(
        "untrusted_issuer.signer-not-yet-valid-at-signing",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let (k, c, revoked_pem) = signer(&ta.ca, &spec(ta));
    write(
        "untrusted_issuer.signer-revoked-by-crl",
        &k.sign_claims(&c, &base).unwrap(),
    );
    let serial = demo::serial_from_pem(&revoked_pem).unwrap();
    let crl = demo::crl(
        &ta.ca,
        &[(serial, datetime!(2026-10-15 0:00 UTC))],
        datetime!(2026-10-15 0:00 UTC),
        datetime!(2046-01-01 0:00 UTC),
        2,
    )
    .unwrap();
    std::fs::write(pki.join("370900-licence-root.crl.pem"), crl).unwrap();
    let (other_root, _) =
        demo::root_ca("不受信任的根CA (fixture)", "示例", demo::DEMO_CA_VALIDITY).unwrap();
    let (k, c, _) = signer(&other_root, &spec(ta));
    write(
        "untrusted_issuer.unknown-root",
        &k.sign_claims(&c, &base).unwrap(),
    );
    // A self-signed leaf carrying everything a signer needs.
    let self_signed = {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "自签名签发证书 (fixture)");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "泰安市行政审批服务局");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.custom_extensions.push(demo::eku_extension(&[
            zhengzhao::pki::LICENCE_SIGNING_EKU_DER,
        ]));
        params.subject_alt_names = vec![
            rcgen::SanType::URI("urn:gbt2260:370900".try_into().unwrap()),
            rcgen::SanType::URI(format!("urn:gb32100:{}", ta.uscc).try_into().unwrap()),
        ];
        (params.not_before, params.not_after) = demo::DEMO_EE_VALIDITY;
        let cert = params.self_signed(&key).unwrap();
        (
            SigningKey::from_pkcs8_pem(key.serialize_pem().as_bytes()).unwrap(),
            vec![cert.der().to_vec()],
        )
    };
    write(
        "untrusted_issuer.self-signed-leaf",
        &self_signed.0.sign_claims(&self_signed.1, &base).unwrap(),
    );

    // issuer_mismatch
    let yc_region = DEMO_REGIONS.iter().find(|r| r.code == "140802").unwrap();
    let (k, c, _) = signer(&ta.ca, &SignerSpec::standard(yc_region, KeyAlg::EcdsaP256));
    write(
        "issuer_mismatch.anchor-not-bound-to-region",
        &k.sign_claims(&c, &good(yc, "BIND0000000000000001"))
            .unwrap(),
    );
    write(
        "issuer_mismatch.iss-not-named-by-signer",
        &sign(ta, &claims("370900", jy.uscc, "ISS00000000000000001")),
    );
    write(
        "issuer_mismatch.region-not-named-by-signer",
        &sign(ta, &claims("370115", ta.uscc, "REG00000000000000001")),
    );

    // bad_identifier
    let mut bad_check = base.clone();
    let last = bad_check.jti.pop().unwrap();
    bad_check.jti.push(if last == 'A' { 'B' } else { 'A' });
    write("bad_identifier.jti-check-character", &sign(ta, &bad_check));
    let mut bad_holder = base.clone();
    bad_holder.lic.holder_type = "111".into();
    bad_holder.sub = "110101197608056896".into();
    write(
        "bad_identifier.holder-resident-id-check",
        &sign(ta, &bad_holder),
    );
    let mut unborn = base.clone();
    unborn.lic.holder_type = "111".into();
    unborn.sub = resident_id_born("20300101");
    write(
        "bad_identifier.holder-born-in-the-future",
        &sign(ta, &unborn),
    );
    let mut bad_org = base.clone();
    bad_org.sub = "91110000600037341M".into();
    write("bad_identifier.holder-uscc-check", &sign(ta, &bad_org));
    let mut mismatch = base.clone();
    mismatch.lic.version = "002".into();
    write(
        "bad_identifier.jti-disagrees-with-version",
        &sign(ta, &mismatch),
    );

    // not_yet_valid and expired
    let mut later = base.clone();
    later.nbf = FIXTURE_AT + 86400;
    write("not_yet_valid.nbf-after-now", &sign(ta, &later));
    let mut future = base.clone();
    future.iat = FIXTURE_AT + 3600;
    future.nbf = future.iat;
    write("not_yet_valid.signed-in-the-future", &sign(ta, &future));
    let mut gone = base.clone();
    gone.exp = Some(FIXTURE_AT - 86400);
    write("expired.exp-before-now", &sign(ta, &gone));
    let mut edge = base.clone();
    edge.exp = Some(FIXTURE_AT);
    write("expired.exp-equals-now", &sign(ta, &edge));

    std::fs::write(
        pki.join("README.md"),
        "# Fixture PKI\n\n`370900-licence-root.crl.pem` is the 370900 licence root's CRL with the signer of\n`untrusted_issuer.signer-revoked-by-crl.jws` revoked; the fixture test uses it in place of\n`certs/370900/licence-root.crl.pem`. Written by the generator in `tests/fixtures.rs`.\n",
    )
    .unwrap();
    let count = std::fs::read_dir(&out).unwrap().count();
    eprintln!("wrote {count} fixtures to {}", out.display());
}

/// A resident id with the given birth date and a correct check digit.
fn resident_id_born(yyyymmdd: &str) -> String {
    let body = format!("110105{yyyymmdd}002");
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(w)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}
