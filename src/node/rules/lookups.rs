//! 免证办 lookups: a holder's licences for a matter, found here (the consent a person's
//! licences need spent, each active licence handed out as a usage copy) and, when a department
//! asks for other regions too, at partner nodes (asked in parallel under one deadline, what
//! they answer checked by [`partners`](super::partners)).

use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::basis::{self, Basis};
use super::consents::{Spender, spend};
use super::partners::{Expected, Forwarded, ForwardedLookup, forward_lookup};
use super::scope::{Ask, Requester, Scope, lookup_scope, may_use};
use super::usage::{self, MadeBy, UsageCopy};
use super::{
    Access, Change, HolderRef, RuleError, load_consent, load_licence, now_ms, put, quoted,
};
use crate::audit::entry::Action;
use crate::codes::RegionCode;
use crate::licence::verify::rfc3339;
use crate::node::state::Status;
use crate::store::Write;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The most licences one lookup answers with, here or across regions together. A holder with
/// more (a large company over the years) is answered with the first ones and `more: true`; the
/// department narrows the next lookup by `type_code`. The bound keeps every answer, and the
/// audit entry listing what it handed out, a bounded size, and bounds the usage copies one
/// request can have signed.
pub const MAX_LOOKUP_RESULTS: usize = 50;

/// The refusals of a partner's licences listed by name in a cross-region lookup's entry; the
/// rest are counted (`dropped_total`).
const MAX_DROPPED_LISTED: usize = 16;

/// Which regions a lookup covers: `"all"` (this one and every partner) or a list of codes.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Regions {
    /// `"all"`.
    Word(String),
    /// Region codes, this one's among them or not.
    List(Vec<String>),
}

/// The format of the usage copies a lookup hands out: the JWS usage copy (the default) or the
/// OFD 加注件 (docs/ofd-issuance.md), base64 in `usage_copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CopyFormat {
    /// A compact JWS (`usage-copy+jwt`).
    #[default]
    Jws,
    /// An OFD file, standard base64.
    Ofd,
}

impl CopyFormat {
    /// Whether it is the default, JWS (left out of a forwarded lookup: a partner on the
    /// previous version reads it as before).
    pub fn is_jws(&self) -> bool {
        *self == CopyFormat::Jws
    }

    /// The format a lookup names, `jws` when it names none: refused as `invalid_request`,
    /// naming the member.
    pub fn asked(format: Option<&str>) -> Result<CopyFormat, RuleError> {
        match format {
            None | Some("jws") => Ok(CopyFormat::Jws),
            Some("ofd") => Ok(CopyFormat::Ofd),
            Some(other) => Err(RuleError::Invalid(format!(
                "format: {}: \"jws\" or \"ofd\"",
                quoted(other)
            ))),
        }
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyFormat::Jws => "jws",
            CopyFormat::Ofd => "ofd",
        }
    }
}

/// How a lookup's usage copies are made: their format, and the case number they name (the
/// OFD 加注件's annotation carries it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Copies<'a> {
    /// The format.
    pub format: CopyFormat,
    /// The case number, as checked.
    pub case: Option<&'a str>,
}

/// What a department asks: the holder, the type (if one), the matter, the purpose (as given),
/// the consent (if one), the basis (case, mode, delegate) as given, and the format of the
/// usage copies.
pub struct Query<'a> {
    /// The holder.
    pub holder: &'a HolderRef,
    /// The type asked for.
    pub type_code: Option<&'a String>,
    /// The matter.
    pub matter: &'a str,
    /// The purpose, as the caller wrote it.
    pub purpose: &'a str,
    /// The consent.
    pub consent: Option<&'a String>,
    /// The usage copies' format.
    pub format: CopyFormat,
    /// The case, mode and delegate, as given.
    pub basis: basis::Asked<'a>,
}

/// One licence a lookup answers with. Its members are in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LookupResult {
    /// The licence id.
    pub id: String,
    /// The licence, compact JWS.
    pub licence: String,
    /// The region whose node holds it.
    pub region: String,
    /// Its status there: `active`, `suspended`, `rescinded`, `cancelled`, `lapsed` or `revoked`
    /// (superseded versions are left out).
    #[schema(value_type = String)]
    pub status: Status,
    /// The status's national code (docs/licence-status.md).
    #[schema(value_type = String)]
    pub status_code: &'static str,
    /// A usage copy of it for this department, matter and purpose (active licences only): a
    /// compact JWS, or with `"format": "ofd"` the OFD 加注件 in standard base64.
    pub usage_copy: Option<String>,
}

/// A region that did not answer a cross-region lookup, and why (an error code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = LookupPartial)]
pub struct Partial {
    /// Why: the region's error code, `deadline`, `unreachable` or `bad_answer`.
    pub error: String,
    /// The region.
    pub region: String,
}

/// What a lookup answers.
pub struct Looked {
    /// The licences, at most [`MAX_LOOKUP_RESULTS`].
    pub results: Vec<LookupResult>,
    /// The regions that did not answer, for a lookup across regions (`None`: this region only).
    pub partial: Option<Vec<Partial>>,
    /// More licences matched than were answered with.
    pub more: bool,
    /// The entry's outcome: `ok`, or `partial` when a region did not answer or a partner's
    /// licence was dropped.
    pub outcome: &'static str,
    /// The consent spent, under its lock.
    pub change: Change,
}

/// What a lookup found here.
pub struct Found {
    /// The licences.
    pub results: Vec<LookupResult>,
    /// More matched than [`MAX_LOOKUP_RESULTS`]; they were left out.
    pub more: bool,
    /// The consent spent, under its lock.
    pub change: Change,
}

/// How the entry names a licence handed out.
fn listed(r: &LookupResult, region: Option<&str>) -> Value {
    let mut v = serde_json::json!({
        "id": r.id,
        "status": r.status,
        "usage_copy": r.usage_copy.is_some(),
    });
    if let Some(region) = region {
        v["region"] = region.into();
    }
    v
}

/// The scope of a lookup for `who` (see [`lookup_scope`]), its basis (see [`basis::check`]),
/// and the purpose as it travels in usage copies and to partners: a holder code in it as its
/// keyed hash (a fixed point: redacting it again changes nothing).
pub fn scope(
    acc: &mut Access<'_>,
    who: &Requester,
    q: &Query<'_>,
) -> Result<(Scope, Basis, String), RuleError> {
    let scope = lookup_scope(acc, who, q.holder, q.type_code, q.matter, q.purpose)?;
    let basis = basis::check(acc, &scope.matter, q.basis)?;
    let purpose = acc.node.holder_key.redact(q.purpose);
    Ok((scope, basis, purpose))
}

/// A lookup in this region only, for `who`: its scope, then [`here`], the entry listing what
/// it handed out.
pub async fn lookup_here(
    acc: &mut Access<'_>,
    who: &Requester,
    q: &Query<'_>,
) -> Result<Looked, RuleError> {
    let (scope, basis, purpose) = scope(acc, who, q)?;
    let ask = scope.ask(q.type_code, &purpose, q.consent, basis.mode);
    if !q.format.is_jws() {
        acc.detail("format", q.format.as_str());
    }
    let copies = Copies {
        format: q.format,
        case: q.basis.case,
    };
    let found = here(acc, who, &ask, copies).await?;
    let ids: Vec<Value> = found.results.iter().map(|r| listed(r, None)).collect();
    acc.detail("results", ids);
    if found.more {
        acc.detail("more", true);
    }
    Ok(Looked {
        results: found.results,
        partial: None,
        more: found.more,
        outcome: "ok",
        change: found.change,
    })
}

/// The lookup in this node's own records, for `who`: the consent (spent under its lock) when
/// the lookup's mode rests on it (`consent`, `delegate`), then the holder's licences the
/// requester may have (none superseded), each active one with a usage copy.
pub async fn here(
    acc: &mut Access<'_>,
    who: &Requester,
    ask: &Ask<'_>,
    copies: Copies<'_>,
) -> Result<Found, RuleError> {
    let format = copies.format;
    // Refused before a consent is spent: OFD copies need the node's seal.
    if format == CopyFormat::Ofd && acc.node.ofd_signer.is_none() {
        return Err(RuleError::Invalid(
            "format: this node has no seal ([seal]) and makes no OFD usage copies; ask for \"jws\""
                .into(),
        ));
    }
    let Ask {
        hash,
        type_code,
        matter,
        purpose,
        consent,
        mode,
        ..
    } = *ask;
    let needs_consent = mode.needs_consent();
    let mut change = Change::default();
    let mut consent_types: Option<Vec<String>> = None;
    let own = acc.node.config.region.to_string();
    if needs_consent {
        let Some(cid) = consent else {
            return Err(RuleError::ConsentRequired);
        };
        acc.detail("consent_id", cid.clone());
        change.guard = Some(acc.node.locks.lock(crate::node::locks::consent(cid)).await);
        let Some(mut c) = load_consent(acc.node, cid)? else {
            return Err(RuleError::ConsentNotFound);
        };
        let region = who.region.to_string();
        let by = Spender {
            holder: hash.as_str(),
            grantee: &who.id,
            region: &region,
            type_code: type_code.map(String::as_str),
        };
        spend(&mut c, &by, &own, now_ms() / 1000)?;
        consent_types = Some(c.type_codes.clone());
        acc.detail("consent_uses_left", c.uses_left);
        change.writes.push(put(Write::consent(cid, &c))?);
    } else if consent.is_some() {
        acc.detail("consent_ignored", true);
    }

    let ids = acc
        .node
        .log
        .state()
        .holder_licences(hash.as_str())
        .map_err(RuleError::storage)?;
    let now = now_ms();
    let valid_until =
        now + i64::try_from(acc.node.config.limits.usage_copy.as_millis()).unwrap_or(600_000);
    let mut results = Vec::new();
    let mut more = false;
    for id in &ids {
        let Some(rec) = load_licence(acc.node, id)? else {
            continue;
        };
        if rec.status == Status::Superseded
            || !may_use(who, &rec.type_code)
            || type_code.is_some_and(|t| t != &rec.type_code)
            || consent_types
                .as_ref()
                .is_some_and(|ts| !ts.contains(&rec.type_code))
        {
            continue;
        }
        if results.len() == MAX_LOOKUP_RESULTS {
            more = true;
            break;
        }
        let copy = if rec.status == Status::Active && format == CopyFormat::Ofd {
            let copy = usage::OfdCopyFor {
                department: &who.id,
                region: &who.region,
                matter,
                case: copies.case,
                purpose,
                made_at: now / 1000,
                valid_until: valid_until / 1000,
            };
            usage::make_ofd(acc.node, &rec.id, &rec.token, &copy)?.map(|ofd| STANDARD.encode(ofd))
        } else if rec.status == Status::Active {
            let c = UsageCopy {
                licence: rec.token.clone(),
                made_by: MadeBy {
                    node: acc.node.config.node_id.clone(),
                    region: own.clone(),
                },
                for_: who.for_.clone(),
                matter: matter.code.clone(),
                purpose: purpose.to_owned(),
                made_at: rfc3339(now / 1000),
                valid_until: rfc3339(valid_until / 1000),
            };
            Some(usage::make(&acc.node.signer, &c).map_err(RuleError::internal)?)
        } else {
            None
        };
        results.push(LookupResult {
            id: rec.id,
            licence: rec.token,
            region: own.clone(),
            status: rec.status,
            status_code: rec.status.code(),
            usage_copy: copy,
        });
    }
    Ok(Found {
        results,
        more,
        change,
    })
}

/// The regions a lookup's `regions` names: whether this one is among them, and the partners
/// asked (each once, in the order given; every partner for `"all"`).
pub fn regions(
    own: RegionCode,
    partners: &[RegionCode],
    regions: &Regions,
) -> Result<(bool, Vec<RegionCode>), RuleError> {
    match regions {
        Regions::Word(w) if w == "all" => Ok((true, partners.to_vec())),
        Regions::Word(w) => Err(RuleError::Invalid(format!(
            "regions: {}: \"all\" or a list of region codes",
            quoted(w)
        ))),
        Regions::List(list) => {
            if list.is_empty() || list.len() > 64 {
                return Err(RuleError::Invalid("regions: 1 to 64 region codes".into()));
            }
            let mut here = false;
            let mut asked = Vec::new();
            for r in list {
                let code = RegionCode::from_str(r)
                    .map_err(|e| RuleError::Invalid(format!("regions: {}: {e}", quoted(r))))?;
                if code == own {
                    here = true;
                } else if partners.contains(&code) {
                    if !asked.contains(&code) {
                        asked.push(code);
                    }
                } else {
                    return Err(RuleError::UnknownRegion(code));
                }
            }
            Ok((here, asked))
        }
    }
}

/// A department's lookup here and at partner nodes: its scope, the regions, the partners asked
/// first (in parallel, under one deadline), and then this region. The answer lists this
/// region's licences first, then the partners' in the order they were asked, up to
/// [`MAX_LOOKUP_RESULTS`]; the regions that did not answer are `partial`.
pub async fn lookup_across(
    acc: &mut Access<'_>,
    who: &Requester,
    q: &Query<'_>,
    asked_regions: &Regions,
) -> Result<Looked, RuleError> {
    let (scope, basis, purpose) = scope(acc, who, q)?;
    let ask = scope.ask(q.type_code, &purpose, q.consent, basis.mode);
    let own = acc.node.config.region;
    let partners: Vec<RegionCode> = acc.node.federation.partners.keys().copied().collect();
    let (here_too, asked) = regions(own, &partners, asked_regions)?;
    acc.entry.action = Action::FederationForward;
    acc.detail(
        "regions",
        asked.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
    );

    // The partners are asked first, in parallel, under one deadline.
    let forward = ForwardedLookup {
        department: who.id.clone(),
        holder: q.holder.clone(),
        type_code: q.type_code.cloned(),
        matter: q.matter.to_owned(),
        purpose: purpose.clone(),
        consent: q.consent.cloned(),
        case: q.basis.case.map(str::to_owned),
        mode: Some(basis.mode.as_str().to_owned()),
        delegate: q.basis.delegate.cloned(),
        format: q.format,
    };
    if !q.format.is_jws() {
        acc.detail("format", q.format.as_str());
    }
    let body = serde_json::to_vec(&forward).map_err(RuleError::internal)?;
    let deadline = tokio::time::Instant::now() + acc.node.config.federation.lookup_deadline;
    // What every answer must be about: this holder, this type if one was named, and copies made
    // for this department, matter and purpose.
    let expected = Arc::new(Expected {
        holder: ask.holder.clone(),
        type_code: q.type_code.cloned(),
        types: who.types.clone(),
        for_: format!("{own}/{}", who.id),
        matter: q.matter.to_owned(),
        purpose: purpose.clone(),
        format: q.format,
    });
    let mut set = tokio::task::JoinSet::new();
    for region in &asked {
        let node = acc.node.clone();
        let body = body.clone();
        let region = *region;
        let expected = expected.clone();
        set.spawn(async move {
            let r = forward_lookup(&node, region, body, deadline, &expected).await;
            (region, r)
        });
    }

    // The partners' answers first, and only then the local lookup: it may take the state lock
    // (to spend a consent), which must not be held while partners are waited for (every state
    // change here would wait for the slowest partner, and two nodes asking each other would
    // each hold the lock the other's forwarded lookup needs).
    let mut forwarded: Vec<(RegionCode, Forwarded)> = Vec::new();
    let mut partner_partial = Vec::new();
    let mut answered = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok((region, outcome)))) => {
                answered.push(region);
                match outcome {
                    Ok(fwd) => {
                        if let Some(i) = fwd.receipt {
                            acc.detail(&format!("receipt_{region}"), i);
                        }
                        forwarded.push((region, fwd));
                    }
                    Err((error, receipt)) => {
                        if let Some(i) = receipt {
                            acc.detail(&format!("receipt_{region}"), i);
                        }
                        partner_partial.push(Partial {
                            error,
                            region: region.to_string(),
                        });
                    }
                }
            }
            Ok(Some(Err(_))) => {}
            Ok(None) => break,
            Err(_) => {
                set.abort_all();
                break;
            }
        }
    }
    for region in &asked {
        if !answered.contains(region) {
            partner_partial.push(Partial {
                error: "deadline".into(),
                region: region.to_string(),
            });
        }
    }
    let mut results = Vec::new();
    let mut ids = Vec::new();
    let mut partial = Vec::new();
    let mut change = Change::default();
    let mut more = false;
    if here_too {
        let copies = Copies {
            format: q.format,
            case: q.basis.case,
        };
        match here(acc, who, &ask, copies).await {
            Ok(found) => {
                more = found.more;
                let own = own.to_string();
                ids.extend(found.results.iter().map(|r| listed(r, Some(&own))));
                results.extend(found.results);
                change = found.change;
            }
            Err(e) => partial.push(Partial {
                error: e.code().to_owned(),
                region: own.to_string(),
            }),
        }
    }
    // The partners' results after this region's, in the order the regions were asked, up to
    // the bound; what is left out is counted by region (`withheld`).
    let mut dropped = Vec::new();
    let mut dropped_total = 0usize;
    let mut withheld = serde_json::Map::new();
    for region in &asked {
        let Some(i) = forwarded.iter().position(|(r, _)| r == region) else {
            continue;
        };
        let (_, fwd) = forwarded.swap_remove(i);
        more |= fwd.more;
        dropped_total += fwd.dropped.len();
        let room = MAX_DROPPED_LISTED.saturating_sub(dropped.len());
        dropped.extend(fwd.dropped.into_iter().take(room));
        let mut left_out = 0u64;
        let region = region.to_string();
        for r in fwd.results {
            if results.len() == MAX_LOOKUP_RESULTS {
                left_out += 1;
                continue;
            }
            ids.push(listed(&r, Some(&region)));
            results.push(r);
        }
        if left_out > 0 {
            more = true;
            withheld.insert(region, left_out.into());
        }
    }
    partial.extend(partner_partial);
    acc.detail("results", ids);
    if more {
        acc.detail("more", true);
    }
    if !withheld.is_empty() {
        acc.detail("withheld", Value::Object(withheld));
    }
    if !partial.is_empty() {
        let listed = serde_json::to_value(&partial).map_err(RuleError::internal)?;
        acc.detail("partial", listed);
    }
    if !dropped.is_empty() {
        let listed = serde_json::to_value(&dropped).map_err(RuleError::internal)?;
        acc.detail("dropped", listed);
    }
    if dropped_total > dropped.len() {
        acc.detail("dropped_total", dropped_total);
    }
    let outcome = if !partial.is_empty() || !dropped.is_empty() {
        "partial"
    } else {
        "ok"
    };
    Ok(Looked {
        results,
        partial: Some(partial),
        more,
        outcome,
        change,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn regions_are_this_one_partners_or_all() {
        let own: RegionCode = "370900".parse().unwrap();
        let a: RegionCode = "370115".parse().unwrap();
        let b: RegionCode = "370200".parse().unwrap();
        let partners = [a, b];
        let list = |l: &[&str]| Regions::List(l.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            regions(own, &partners, &Regions::Word("all".into())).unwrap(),
            (true, vec![a, b])
        );
        assert_eq!(
            regions(own, &partners, &list(&["370200", "370115", "370200"])).unwrap(),
            (false, vec![b, a]),
            "each partner once, in the order asked"
        );
        assert_eq!(
            regions(own, &partners, &list(&["370900"])).unwrap(),
            (true, vec![])
        );
        let e = regions(own, &partners, &list(&["110000"])).unwrap_err();
        assert_eq!(e.code(), "unknown_region");
        assert_eq!(
            e.to_string(),
            "regions: 110000 is neither this region nor a partner's"
        );
        for bad in [Regions::Word("some".into()), list(&[]), list(&["37090"])] {
            assert_eq!(
                regions(own, &partners, &bad).unwrap_err().code(),
                "invalid_request",
                "{bad:?}"
            );
        }
    }
}
