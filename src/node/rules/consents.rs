//! Holders' consents: granted by the citizen portal to a department (of this region or of a
//! partner region) for some licence types, until a time or for a number of uses; spent, one
//! use per lookup, under the consent's lock; withdrawn by the holder.

use std::str::FromStr;

use super::{
    Access, Change, HolderRef, RuleError, holder_in_entry, is_code, load_consent, now_ms, put,
    quoted,
};
use crate::audit::entry::{HolderHash, format_time};
use crate::codes::{LicenceTypeCode, RegionCode};
use crate::licence::verify::rfc3339;
use crate::node::config::Role;
use crate::node::state::ConsentRecord;
use crate::store::Write;

/// Most licence types one consent covers.
pub const MAX_CONSENT_TYPES: usize = 64;
/// Most uses one consent may be granted for.
pub const MAX_CONSENT_USES: u64 = 1_000_000;

/// A consent as the portal asks for it, nothing checked yet.
pub struct Grant<'a> {
    /// The holder.
    pub holder: &'a HolderRef,
    /// The department allowed.
    pub grantee: &'a str,
    /// Its region, when it is a partner region's department.
    pub grantee_region: Option<&'a str>,
    /// The licence types it may use.
    pub type_codes: &'a [String],
    /// When it ends, RFC 3339; `None`: until withdrawn.
    pub until: Option<&'a str>,
    /// Its uses; `None`: unlimited.
    pub uses: Option<u64>,
}

/// Records a consent: the holder, the grantee (a consumer department of this region, or a
/// department of a partner region that may look licences up here), the types, the end and the
/// uses, each checked. Returns the record and its write.
pub fn grant(acc: &mut Access<'_>, g: &Grant<'_>) -> Result<(ConsentRecord, Change), RuleError> {
    let (_, hash) = holder_in_entry(acc, g.holder)?;
    let own = acc.node.config.region;
    let grantee_region = match g.grantee_region {
        None => own,
        Some(r) => RegionCode::from_str(r)
            .map_err(|e| RuleError::Invalid(format!("grantee_region: {e}")))?,
    };
    if grantee_region == own {
        acc.node
            .config
            .departments
            .get(g.grantee)
            .filter(|d| d.roles.contains(&Role::Consumer))
            .ok_or_else(|| {
                RuleError::UnknownGrantee(format!(
                    "{} is not a consumer department of this region",
                    quoted(g.grantee)
                ))
            })?;
    } else {
        // A partner region's department: its id is the partner's business; the partner's
        // grants here decide what it may ask.
        let ok = acc
            .node
            .federation
            .partner(&grantee_region)
            .is_some_and(|p| !p.partner.grant_matters.is_empty());
        if !ok || !is_code(g.grantee) {
            return Err(RuleError::UnknownGrantee(format!(
                "{} of region {grantee_region} is not a department of a partner region that \
                 may look licences up here",
                quoted(g.grantee)
            )));
        }
    }
    if g.type_codes.is_empty() || g.type_codes.len() > MAX_CONSENT_TYPES {
        return Err(RuleError::Invalid(
            "type_codes: 1 to 64 licence type codes".into(),
        ));
    }
    for t in g.type_codes {
        LicenceTypeCode::from_str(t)
            .map_err(|e| RuleError::Invalid(format!("type_codes: {}: {e}", quoted(t))))?;
    }
    let now = now_ms() / 1000;
    let until_unix = match g.until {
        None => None,
        Some(u) => {
            let t = time::OffsetDateTime::parse(u, &time::format_description::well_known::Rfc3339)
                .map_err(|e| RuleError::Invalid(format!("until: not RFC 3339: {e}")))?
                .unix_timestamp();
            if t <= now {
                return Err(RuleError::Invalid("until: must be in the future".into()));
            }
            Some(t)
        }
    };
    if let Some(n) = g.uses
        && !(1..=MAX_CONSENT_USES).contains(&n)
    {
        return Err(RuleError::Invalid("uses: 1 to 1000000".into()));
    }
    let id = random_id()?;
    let record = ConsentRecord {
        id: id.clone(),
        holder: hash.as_str().to_owned(),
        grantee: g.grantee.to_owned(),
        grantee_region: (grantee_region != own).then(|| grantee_region.to_string()),
        type_codes: g.type_codes.to_vec(),
        until: until_unix.map(rfc3339),
        until_unix,
        uses_left: g.uses,
        granted_by: acc.by.to_owned(),
        granted_at: format_time(now_ms()),
        withdrawn_at: None,
    };
    acc.detail("consent_id", id.clone());
    acc.detail("grantee", g.grantee.to_owned());
    if grantee_region != own {
        acc.detail("grantee_region", grantee_region.to_string());
    }
    acc.detail("type_codes", g.type_codes.to_vec());
    let writes = vec![put(Write::consent(&id, &record))?];
    Ok((
        record,
        Change {
            writes,
            guard: None,
        },
    ))
}

/// Withdraws the consent `id`, under its lock: refused as `not_found` and
/// `already_withdrawn`. Returns when (RFC 3339).
pub async fn withdraw(acc: &mut Access<'_>, id: &str) -> Result<(String, Change), RuleError> {
    let guard = acc.node.locks.lock(crate::node::locks::consent(id)).await;
    let Some(mut rec) = load_consent(acc.node, id)? else {
        return Err(RuleError::NoSuchConsent);
    };
    acc.detail("consent_id", id);
    acc.entry.holder = Some(HolderHash::from_hex(&rec.holder).map_err(RuleError::internal)?);
    if rec.withdrawn_at.is_some() {
        return Err(RuleError::AlreadyWithdrawn);
    }
    let at = format_time(now_ms());
    rec.withdrawn_at = Some(at.clone());
    let writes = vec![put(Write::consent(id, &rec))?];
    Ok((
        at,
        Change {
            writes,
            guard: Some(guard),
        },
    ))
}

/// Who spends a consent, for what: the holder's keyed hash, the grantee and its region, and the
/// type asked for (if one).
pub struct Spender<'a> {
    /// The holder's keyed hash.
    pub holder: &'a str,
    /// The department.
    pub grantee: &'a str,
    /// Its region.
    pub region: &'a str,
    /// The type asked for, if one.
    pub type_code: Option<&'a str>,
}

/// Spends one use of the consent `c` at `now` (Unix seconds), for `by`: it must be `by`'s
/// holder and department, not withdrawn, not expired, with a use left, and cover the type
/// asked for. `own` is this node's region (a consent without `grantee_region` is for one of
/// its departments). The caller writes `c` back with the request's entry.
pub fn spend(
    c: &mut ConsentRecord,
    by: &Spender<'_>,
    own: &str,
    now: i64,
) -> Result<(), RuleError> {
    let grantee_region = c.grantee_region.as_deref().unwrap_or(own);
    if c.holder != by.holder || c.grantee != by.grantee || grantee_region != by.region {
        return Err(RuleError::ConsentNotTheirs);
    }
    if c.withdrawn_at.is_some() {
        return Err(RuleError::ConsentWithdrawn);
    }
    if c.until_unix.is_some_and(|u| now >= u) {
        return Err(RuleError::ConsentExpired);
    }
    let left = match c.uses_left {
        Some(0) => return Err(RuleError::ConsentUsedUp),
        Some(n) => Some(n - 1),
        None => None,
    };
    if let Some(t) = by.type_code
        && !c.type_codes.iter().any(|c| c == t)
    {
        return Err(RuleError::ConsentNotForType(t.to_owned()));
    }
    c.uses_left = left;
    Ok(())
}

/// A new consent id: 16 random bytes, hex.
fn random_id() -> Result<String, RuleError> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| RuleError::internal("no randomness"))?;
    Ok(hex::encode(b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const TYPE: &str = "11100000000013338W032";
    const OTHER_TYPE: &str = "11100000000013338W011";

    fn consent(uses: Option<u64>, until_unix: Option<i64>) -> ConsentRecord {
        ConsentRecord {
            id: "ab".repeat(16),
            holder: "cd".repeat(32),
            grantee: "370900-window".into(),
            grantee_region: None,
            type_codes: vec![TYPE.into()],
            until: until_unix.map(rfc3339),
            until_unix,
            uses_left: uses,
            granted_by: "370900-portal".into(),
            granted_at: "2026-12-01T00:00:00.000Z".into(),
            withdrawn_at: None,
        }
    }

    fn window(holder: &str) -> Spender<'_> {
        Spender {
            holder,
            grantee: "370900-window",
            region: "370900",
            type_code: None,
        }
    }

    #[test]
    fn a_consent_of_one_use_is_spent_once() {
        let holder = "cd".repeat(32);
        let mut c = consent(Some(1), None);
        assert_eq!(spend(&mut c, &window(&holder), "370900", 1_000), Ok(()));
        assert_eq!(c.uses_left, Some(0));
        assert_eq!(
            spend(&mut c, &window(&holder), "370900", 1_000),
            Err(RuleError::ConsentUsedUp)
        );
        assert_eq!(c.uses_left, Some(0), "a refused spending spends nothing");
        // Unlimited uses stay unlimited.
        let mut c = consent(None, None);
        for _ in 0..3 {
            assert_eq!(spend(&mut c, &window(&holder), "370900", 1_000), Ok(()));
        }
        assert_eq!(c.uses_left, None);
    }

    #[test]
    fn a_consent_is_refused_to_another_holder_department_or_region() {
        let holder = "cd".repeat(32);
        let other = "ef".repeat(32);
        let mut c = consent(Some(5), None);
        for by in [
            window(&other),
            Spender {
                grantee: "370900-bank",
                ..window(&holder)
            },
            Spender {
                region: "370115",
                ..window(&holder)
            },
        ] {
            assert_eq!(
                spend(&mut c, &by, "370900", 1_000),
                Err(RuleError::ConsentNotTheirs)
            );
        }
        assert_eq!(c.uses_left, Some(5));
        // A partner's department spends a consent granted to it with its region.
        let mut c = consent(Some(5), None);
        c.grantee_region = Some("370115".into());
        assert_eq!(
            spend(&mut c, &window(&holder), "370900", 1_000),
            Err(RuleError::ConsentNotTheirs)
        );
        let partner = Spender {
            region: "370115",
            ..window(&holder)
        };
        assert_eq!(spend(&mut c, &partner, "370900", 1_000), Ok(()));
        assert_eq!(c.uses_left, Some(4));
    }

    #[test]
    fn a_withdrawn_expired_or_other_type_consent_is_refused() {
        let holder = "cd".repeat(32);
        let mut c = consent(Some(5), Some(2_000));
        assert_eq!(spend(&mut c, &window(&holder), "370900", 1_999), Ok(()));
        assert_eq!(
            spend(&mut c, &window(&holder), "370900", 2_000),
            Err(RuleError::ConsentExpired),
            "`until` is exclusive"
        );
        let by_type = Spender {
            type_code: Some(OTHER_TYPE),
            ..window(&holder)
        };
        let e = spend(&mut c, &by_type, "370900", 1_000).unwrap_err();
        assert_eq!(e, RuleError::ConsentNotForType(OTHER_TYPE.into()));
        assert_eq!(e.code(), "consent_mismatch");
        assert_eq!(c.uses_left, Some(4));
        c.withdrawn_at = Some("2026-12-01T00:00:01.000Z".into());
        assert_eq!(
            spend(&mut c, &window(&holder), "370900", 1_000),
            Err(RuleError::ConsentWithdrawn)
        );
    }
}
