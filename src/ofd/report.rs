//! The OFD verification report: one entry per signature with its checks and outcome, and one
//! outcome for the document. This is an interface other tools read; docs/ofd-verification.md
//! describes it, with examples a test checks.

use serde::Serialize;

/// The outcome of one signature, or of the document.
///
/// Declared in precedence order: when several checks fail, the outcome is the first of these
/// that a failed check yields; a document's outcome is the first among its signatures'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfdOutcome {
    /// Not an OFD document, or a signature's files or values cannot be read.
    Malformed,
    /// A hash or signature algorithm other than SM3 and SM2-with-SM3.
    UnsupportedAlgorithm,
    /// A digest of a referenced file, or the signature's data hash, differs.
    Tampered,
    /// A signature (the document's, or the seal maker's on the seal) does not verify.
    BadSignature,
    /// No path to a trust anchor for the signer or the seal maker, a signer the seal does not
    /// list, or a signer known by no certificate.
    UntrustedIssuer,
    /// The signer's certificate or the seal was not valid at the signing time.
    Expired,
    /// Every signature valid, but some page content or resource it draws is covered by none.
    NotCovered,
    /// The document carries no signature.
    Unsigned,
    /// Every check passed.
    Valid,
}

impl OfdOutcome {
    /// The outcome's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfdOutcome::Malformed => "malformed",
            OfdOutcome::UnsupportedAlgorithm => "unsupported_algorithm",
            OfdOutcome::Tampered => "tampered",
            OfdOutcome::BadSignature => "bad_signature",
            OfdOutcome::UntrustedIssuer => "untrusted_issuer",
            OfdOutcome::Expired => "expired",
            OfdOutcome::NotCovered => "not_covered",
            OfdOutcome::Unsigned => "unsigned",
            OfdOutcome::Valid => "valid",
        }
    }
}

/// One check of a signature and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OfdCheck {
    /// The check's stable name: `references`, `data_hash`, `signature`, `seal_signature`,
    /// `seal_validity`, `signer_in_seal`, `signer_chain`, `seal_maker_chain`,
    /// `signer_validity`.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
    /// The outcome this check yields when it fails.
    #[serde(skip)]
    pub fails_as: OfdOutcome,
}

/// The signer, as its certificate names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SignerInfo {
    /// The certificate's subject, RFC 4514.
    pub subject: String,
    /// The certificate's serial number, upper-case hex.
    pub serial: String,
    /// Start of its validity, RFC 3339.
    pub not_before: String,
    /// End of its validity, RFC 3339.
    pub not_after: String,
}

/// The electronic seal a signature carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SealInfo {
    /// The seal's identifier (esID).
    pub es_id: String,
    /// The seal's name.
    pub name: String,
    /// Start of the seal's validity, RFC 3339.
    pub valid_from: String,
    /// End of the seal's validity, RFC 3339.
    pub valid_until: String,
}

/// One `CustomData` of the document's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MetaItem {
    /// Its `Name` attribute.
    pub name: String,
    /// Its text.
    pub value: String,
}

/// One signature of the document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OfdSignature)]
pub struct SignatureReport {
    /// The signature's `ID` in `Signatures.xml`.
    pub id: String,
    /// `Seal` or `Sign`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `gbt38540`, `gmt0031`, `gbt35275` or `sm2`; null when the value could not be read.
    pub format: Option<&'static str>,
    /// This signature's outcome.
    pub outcome: OfdOutcome,
    /// Every check that applies, in order.
    pub checks: Vec<OfdCheck>,
    /// The signer, when its certificate was read.
    pub signer: Option<SignerInfo>,
    /// The seal, for a `Seal` signature whose seal was read.
    pub seal: Option<SealInfo>,
    /// The signing time the signature states, RFC 3339.
    pub signed_at: Option<String>,
}

/// The report on one OFD document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfdReport {
    /// The document's outcome.
    pub outcome: OfdOutcome,
    /// When it was checked, RFC 3339.
    pub verified_at: String,
    /// Why the document is `malformed`, when it is as a whole (not one signature).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One entry per signature, in the order of `Signatures.xml`.
    pub signatures: Vec<SignatureReport>,
    /// Package files that no verifying signature covers (the signature machinery's own files
    /// left out).
    pub uncovered: Vec<String>,
    /// The document's `CustomDatas`, in order.
    pub metadata: Vec<MetaItem>,
    /// The GB/T 36904 licence identifier the metadata gives, validated; null when none.
    pub licence_id: Option<String>,
}

impl SignatureReport {
    /// The outcome its checks give: the first in precedence that a failed check yields.
    pub fn outcome_of(checks: &[OfdCheck]) -> OfdOutcome {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.fails_as)
            .min()
            .unwrap_or(OfdOutcome::Valid)
    }
}

impl OfdReport {
    /// The document outcome of its signatures and its uncovered content: `unsigned` with no
    /// signature, else the worst signature's outcome, and `not_covered` when all are valid
    /// but `content_uncovered`.
    pub fn outcome_of(signatures: &[SignatureReport], content_uncovered: bool) -> OfdOutcome {
        let Some(worst) = signatures.iter().map(|s| s.outcome).min() else {
            return OfdOutcome::Unsigned;
        };
        if worst == OfdOutcome::Valid && content_uncovered {
            OfdOutcome::NotCovered
        } else {
            worst
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn check(name: &'static str, ok: bool, fails_as: OfdOutcome) -> OfdCheck {
        OfdCheck {
            check: name,
            ok,
            detail: String::new(),
            fails_as,
        }
    }

    fn sig(outcome: OfdOutcome) -> SignatureReport {
        SignatureReport {
            id: "s".into(),
            kind: "Seal".into(),
            format: Some("gbt38540"),
            outcome,
            checks: vec![],
            signer: None,
            seal: None,
            signed_at: None,
        }
    }

    #[test]
    fn a_signatures_outcome_is_its_worst_failure_in_precedence() {
        use OfdOutcome::*;
        assert_eq!(SignatureReport::outcome_of(&[]), Valid);
        let checks = [
            check("signer_validity", false, Expired),
            check("signer_chain", false, UntrustedIssuer),
            check("signature", true, BadSignature),
        ];
        assert_eq!(SignatureReport::outcome_of(&checks), UntrustedIssuer);
        let checks = [
            check("signature", false, BadSignature),
            check("references", false, Tampered),
        ];
        assert_eq!(SignatureReport::outcome_of(&checks), Tampered);
    }

    #[test]
    fn a_documents_outcome_is_unsigned_worst_or_not_covered() {
        use OfdOutcome::*;
        assert_eq!(OfdReport::outcome_of(&[], true), Unsigned);
        assert_eq!(OfdReport::outcome_of(&[sig(Valid)], false), Valid);
        assert_eq!(OfdReport::outcome_of(&[sig(Valid)], true), NotCovered);
        assert_eq!(
            OfdReport::outcome_of(&[sig(Valid), sig(Tampered)], true),
            Tampered
        );
        assert_eq!(
            OfdReport::outcome_of(&[sig(Expired), sig(UntrustedIssuer)], false),
            UntrustedIssuer
        );
    }

    #[test]
    fn outcomes_serialize_as_their_names() {
        for o in [
            OfdOutcome::Malformed,
            OfdOutcome::UnsupportedAlgorithm,
            OfdOutcome::Tampered,
            OfdOutcome::BadSignature,
            OfdOutcome::UntrustedIssuer,
            OfdOutcome::Expired,
            OfdOutcome::NotCovered,
            OfdOutcome::Unsigned,
            OfdOutcome::Valid,
        ] {
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
    }
}
