//! The 用证清单: which department may use which licence types for which matters.
//!
//! A department of this region may use the types and matters its configuration lists
//! (`[[departments]]`); a partner region's department, what the partner is granted here
//! (`[[partners]]`'s `grant_types` and `grant_matters`). A matter must also be configured here
//! (`[[matters]]`), which says whether it is statutory (no consent needed).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use super::basis::Mode;
use super::{
    Access, HolderRef, MAX_PURPOSE_CHARS, RuleError, free_text, holder_in_entry, is_code, quoted,
};
use crate::audit::entry::HolderHash;
use crate::codes::{HolderCode, LicenceTypeCode, RegionCode};
use crate::node::config::{Department, Matter, Types};

/// Who a lookup is for: a department of this region, or of a partner region.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The department id.
    pub id: String,
    /// Its region.
    pub region: RegionCode,
    /// The licence types it may use.
    pub types: Types,
    /// The matters it may use them for.
    pub matters: BTreeSet<String>,
    /// The usage copy's `for`: the department id, `<region>/<id>` for a partner's.
    pub for_: String,
}

impl Requester {
    /// A department of this region (`region`), under its own 用证清单.
    pub fn department(d: &Department, region: RegionCode) -> Requester {
        Requester {
            id: d.id.clone(),
            region,
            types: d.types.clone(),
            matters: d.matters.clone(),
            for_: d.id.clone(),
        }
    }

    /// A partner region's department, under what the partner is granted here.
    pub fn partner_department(
        id: &str,
        partner: RegionCode,
        grant_types: &Types,
        grant_matters: &BTreeSet<String>,
    ) -> Requester {
        Requester {
            id: id.to_owned(),
            region: partner,
            types: grant_types.clone(),
            matters: grant_matters.clone(),
            for_: format!("{partner}/{id}"),
        }
    }
}

/// What [`lookup_scope`] established: the holder, its keyed hash, and the matter as configured.
pub struct Scope {
    /// The holder.
    pub holder: HolderCode,
    /// Its keyed hash.
    pub hash: HolderHash,
    /// The matter, as configured here.
    pub matter: Matter,
}

/// What is looked up: the holder, the type (if one), the matter, the purpose and the consent.
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    /// The holder.
    pub holder: &'a HolderCode,
    /// Its keyed hash.
    pub hash: &'a HolderHash,
    /// The type asked for, if one.
    pub type_code: Option<&'a String>,
    /// The matter.
    pub matter: &'a Matter,
    /// The purpose, a holder code in it as its keyed hash.
    pub purpose: &'a str,
    /// The consent given, if one.
    pub consent: Option<&'a String>,
    /// The mode the lookup names.
    pub mode: Mode,
}

impl Scope {
    /// The lookup of this scope for the type (if one), purpose, consent and mode asked.
    pub fn ask<'a>(
        &'a self,
        type_code: Option<&'a String>,
        purpose: &'a str,
        consent: Option<&'a String>,
        mode: Mode,
    ) -> Ask<'a> {
        Ask {
            holder: &self.holder,
            hash: &self.hash,
            type_code,
            matter: &self.matter,
            purpose,
            consent,
            mode,
        }
    }
}

/// What every lookup checks first, each recorded in the entry as it passes: the matter's code
/// and the purpose, the holder, the matter configured here and among the requester's, and the
/// type asked for, if any, valid and among the requester's types.
pub fn lookup_scope(
    acc: &mut Access<'_>,
    who: &Requester,
    holder: &HolderRef,
    type_code: Option<&String>,
    matter: &str,
    purpose: &str,
) -> Result<Scope, RuleError> {
    if !is_code(matter) {
        return Err(RuleError::Invalid(
            "matter: 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'".into(),
        ));
    }
    acc.entry.matter = Some(matter.to_owned());
    free_text("purpose", purpose, MAX_PURPOSE_CHARS)?;
    acc.entry.purpose = Some(purpose.to_owned());
    let (holder, hash) = holder_in_entry(acc, holder)?;
    let configured = allowed_matter(&acc.node.config.matters, who, matter)?;
    if let Some(t) = type_code {
        allowed_type(who, t)?;
        acc.detail("type_code", t.clone());
    }
    Ok(Scope {
        holder,
        hash,
        matter: configured,
    })
}

/// The matter `code` as configured here (`configured`), if the requester may use licences for
/// it: refused as `matter_not_allowed` when it is not configured or not the requester's.
pub fn allowed_matter(
    configured: &BTreeMap<String, Matter>,
    who: &Requester,
    code: &str,
) -> Result<Matter, RuleError> {
    configured
        .get(code)
        .filter(|_| who.matters.contains(code))
        .cloned()
        .ok_or_else(|| RuleError::MatterNotAllowed(quoted(code)))
}

/// Whether the requester may use licences of type `type_code`: refused as `invalid_request`
/// when it is not a type code, `type_not_allowed` when its 用证清单 does not list it.
pub fn allowed_type(who: &Requester, type_code: &str) -> Result<(), RuleError> {
    LicenceTypeCode::from_str(type_code)
        .map_err(|e| RuleError::Invalid(format!("type_code: {e}")))?;
    if !who.types.allows(type_code) {
        return Err(RuleError::TypeNotAllowed(type_code.to_owned()));
    }
    Ok(())
}

/// Whether a licence of `type_code` found for the requester is one it may be handed.
pub fn may_use(who: &Requester, type_code: &str) -> bool {
    who.types.allows(type_code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn matter(code: &str, statutory: bool) -> Matter {
        Matter {
            code: code.into(),
            name: code.into(),
            statutory,
        }
    }

    fn window(types: Types, matters: &[&str]) -> Requester {
        Requester {
            id: "370900-window".into(),
            region: "370900".parse().unwrap(),
            types,
            matters: matters.iter().map(|m| (*m).to_owned()).collect(),
            for_: "370900-window".into(),
        }
    }

    #[test]
    fn a_matter_must_be_configured_and_the_requesters() {
        let configured: BTreeMap<String, Matter> = [
            ("open-shop".to_owned(), matter("open-shop", false)),
            ("tax".to_owned(), matter("tax", true)),
        ]
        .into();
        let who = window(Types::All, &["open-shop", "unconfigured"]);
        assert_eq!(
            allowed_matter(&configured, &who, "open-shop").unwrap(),
            matter("open-shop", false)
        );
        // Configured here, but not in the department's list.
        let e = allowed_matter(&configured, &who, "tax").unwrap_err();
        assert_eq!(e, RuleError::MatterNotAllowed("\"tax\"".into()));
        assert_eq!(e.code(), "matter_not_allowed");
        assert_eq!(
            e.to_string(),
            "the department may not use licences for matter \"tax\""
        );
        // In the department's list, but not configured here.
        assert_eq!(
            allowed_matter(&configured, &who, "unconfigured")
                .unwrap_err()
                .code(),
            "matter_not_allowed"
        );
    }

    #[test]
    fn a_type_must_parse_and_be_in_the_list() {
        let only = Types::Only(["11100000000013338W032".to_owned()].into());
        let who = window(only, &[]);
        assert_eq!(allowed_type(&who, "11100000000013338W032"), Ok(()));
        assert!(may_use(&who, "11100000000013338W032"));
        assert!(!may_use(&who, "11100000000013338W011"));
        let e = allowed_type(&who, "11100000000013338W011").unwrap_err();
        assert_eq!(e.code(), "type_not_allowed");
        assert_eq!(
            e.to_string(),
            "the department may not use licences of type 11100000000013338W011"
        );
        let e = allowed_type(&who, "not a code").unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert!(e.to_string().starts_with("type_code: "), "{e}");
        // `*` lets every valid type through, never an invalid one.
        let all = window(Types::All, &[]);
        assert_eq!(allowed_type(&all, "11100000000013338W011"), Ok(()));
        assert_eq!(
            allowed_type(&all, "not a code").unwrap_err().code(),
            "invalid_request"
        );
    }

    #[test]
    fn a_partners_department_is_named_with_its_region() {
        let who = Requester::partner_department(
            "370115-window",
            "370115".parse().unwrap(),
            &Types::All,
            &BTreeSet::new(),
        );
        assert_eq!(who.for_, "370115/370115-window");
        assert_eq!(who.region.to_string(), "370115");
    }
}
