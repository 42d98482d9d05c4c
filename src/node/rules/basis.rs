//! The legal basis a lookup (用证) names: the case it serves (业务流水号), and its mode —
//! `duty` (依职能, statutory matters only), `consent` (授权用证: the holder's consent) or
//! `delegate` (委托: a delegate acting under the holder's authorisation, with the holder's
//! consent). Each is checked here and recorded in the entry: the case and the mode as given,
//! the delegate by the keyed hash of its ID code only.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Access, RuleError, quoted};
use crate::audit::entry::HolderHash;
use crate::codes::{HolderCode, HolderType, check_free_text, holds_holder_codes};
use crate::node::config::Matter;

/// Longest case number, in characters.
pub const MAX_CASE_CHARS: usize = 64;
/// Longest delegate name, in characters.
pub const MAX_DELEGATE_NAME_CHARS: usize = 64;

/// On what basis a department uses a holder's licences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 依职能: the department's statutory duty; only for matters configured `statutory`, and
    /// no consent is needed.
    Duty,
    /// 授权用证: the holder's consent, which the lookup spends.
    Consent,
    /// 委托: a delegate acting under the holder's authorisation, with the holder's consent.
    Delegate,
}

impl Mode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Duty => "duty",
            Mode::Consent => "consent",
            Mode::Delegate => "delegate",
        }
    }

    /// Whether the lookup rests on the holder's consent, which it must then name and spend.
    pub fn needs_consent(self) -> bool {
        self != Mode::Duty
    }
}

impl FromStr for Mode {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Mode, RuleError> {
        match s {
            "duty" => Ok(Mode::Duty),
            "consent" => Ok(Mode::Consent),
            "delegate" => Ok(Mode::Delegate),
            other => Err(RuleError::InvalidMode(format!(
                "mode {}: one of duty, consent, delegate",
                quoted(other)
            ))),
        }
    }
}

/// The delegate of a 委托 lookup as a request names it: name, ID type and code, none checked
/// yet. Its `Debug` masks the code.
#[derive(Deserialize, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateRef {
    /// The delegate's name, free text.
    pub name: String,
    /// `111` (a person, 公民身份号码) or `001` (an organisation, 统一社会信用代码).
    #[serde(rename = "type")]
    pub holder_type: String,
    /// The delegate's ID code.
    pub code: String,
}

impl Serialize for DelegateRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            code: &'a str,
            name: &'a str,
            #[serde(rename = "type")]
            holder_type: &'a str,
        }
        Wire {
            code: &self.code,
            name: &self.name,
            holder_type: &self.holder_type,
        }
        .serialize(s)
    }
}

impl std::fmt::Debug for DelegateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DelegateRef({}, {})",
            self.holder_type,
            crate::codes::mask(&self.code)
        )
    }
}

/// What a lookup names as its basis, as given.
#[derive(Clone, Copy)]
pub struct Asked<'a> {
    /// The case number.
    pub case: Option<&'a str>,
    /// The mode.
    pub mode: Option<&'a str>,
    /// The delegate.
    pub delegate: Option<&'a DelegateRef>,
}

/// The basis checked: the mode, and the delegate's keyed hash for a 委托 lookup.
#[derive(Debug, Clone)]
pub struct Basis {
    /// The mode.
    pub mode: Mode,
    /// The delegate's keyed hash.
    pub delegate: Option<HolderHash>,
}

/// A case number (业务流水号): 1 to [`MAX_CASE_CHARS`] characters of free text without white
/// space, `/`, `<` or `>`, holding no holder code (a valid 公民身份号码 or 统一社会信用代码, in
/// any disguise the redaction sees through). Long runs of digits are allowed (case numbers are
/// often 20 digits and more): the entry keeps `detail.case` as given, which it may because no
/// holder code is in it (`audit::entry`, `CASE`). Refused as `invalid_case`; the message never
/// repeats an ID number.
pub fn check_case(case: Option<&str>) -> Result<&str, RuleError> {
    let bad = |why: &str| RuleError::InvalidCase(format!("case: {why}"));
    let Some(case) = case else {
        return Err(bad(
            "required: the case number (业务流水号) the lookup serves",
        ));
    };
    check_free_text(case, MAX_CASE_CHARS).map_err(|fault| bad(&fault.to_string()))?;
    if case
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '/' | '<' | '>'))
    {
        return Err(bad("no white space, '/', '<' or '>'"));
    }
    if holds_holder_codes(case) {
        return Err(bad(
            "holds a holder's ID number or credit code; a case number names the case, never \
             the person",
        ));
    }
    Ok(case)
}

/// Checks the basis of a lookup for `matter`, recording each part in the entry as it passes:
/// the case (`invalid_case`), the mode (`invalid_mode`; `duty` only for a statutory matter,
/// else `mode_not_allowed`), and the delegate (`delegate_required` in `delegate` mode without
/// one, `invalid_delegate` for one that does not parse or in another mode). The consent the
/// modes `consent` and `delegate` need is checked where it is spent.
pub fn check(acc: &mut Access<'_>, matter: &Matter, asked: Asked<'_>) -> Result<Basis, RuleError> {
    let case = check_case(asked.case)?;
    acc.detail("case", case);
    let mode = match asked.mode {
        None => {
            return Err(RuleError::InvalidMode(
                "mode: required: duty, consent or delegate".into(),
            ));
        }
        Some(m) => Mode::from_str(m)?,
    };
    acc.detail("mode", mode.as_str());
    if mode == Mode::Duty && !matter.statutory {
        return Err(RuleError::ModeNotAllowed(quoted(&matter.code)));
    }
    let delegate = match (mode, asked.delegate) {
        (Mode::Delegate, None) => return Err(RuleError::DelegateRequired),
        (Mode::Delegate, Some(d)) => {
            check_free_text(&d.name, MAX_DELEGATE_NAME_CHARS)
                .map_err(|fault| RuleError::InvalidDelegate(format!("delegate.name: {fault}")))?;
            let t = HolderType::from_str(&d.holder_type)
                .map_err(|e| RuleError::InvalidDelegate(format!("delegate.type: {e}")))?;
            let code = HolderCode::parse(t, &d.code)
                .map_err(|e| RuleError::InvalidDelegate(format!("delegate.code: {e}")))?;
            let hash = acc.node.holder_key.holder_hash(&code);
            acc.detail("delegate", hash.as_str());
            Some(hash)
        }
        (_, Some(_)) => {
            return Err(RuleError::InvalidDelegate(format!(
                "delegate: only in mode delegate, not {}",
                mode.as_str()
            )));
        }
        (_, None) => None,
    };
    Ok(Basis { mode, delegate })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn case_numbers_are_bounded_printable_and_name_no_one() {
        for good in [
            "370900-2026-000123",
            "泰审批〔2026〕123号",
            "A.1_b-2",
            "x",
            "3709002026120100000000123",
            "110105194912310021",
        ] {
            assert_eq!(check_case(Some(good)), Ok(good), "{good}");
        }
        let long = "案".repeat(MAX_CASE_CHARS + 1);
        for bad in [
            None,
            Some(""),
            Some("  "),
            Some("a b"),
            Some("a/b"),
            Some("a\u{202e}b"),
            Some("a\u{200b}b"),
            Some("line\nbreak"),
            Some(long.as_str()),
            Some("11010519491231002X"),
            Some("case-11010519491231002X"),
            Some("91110000600037341L"),
            Some("１１０１０５１９４９１２３１００２Ｘ"),
            Some("1101-0519-4912-3100-2X"),
            Some("a<holder:b>"),
        ] {
            let e = check_case(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_case", "{bad:?}");
            assert!(!e.to_string().contains("1101051949"), "{e}");
        }
        assert_eq!(
            check_case(None).unwrap_err().to_string(),
            "case: required: the case number (业务流水号) the lookup serves"
        );
    }

    #[test]
    fn modes_by_name() {
        for m in [Mode::Duty, Mode::Consent, Mode::Delegate] {
            assert_eq!(Mode::from_str(m.as_str()).unwrap(), m);
        }
        assert!(!Mode::Duty.needs_consent());
        assert!(Mode::Consent.needs_consent() && Mode::Delegate.needs_consent());
        let e = Mode::from_str("statutory").unwrap_err();
        assert_eq!(e.code(), "invalid_mode");
        assert_eq!(
            e.to_string(),
            "mode \"statutory\": one of duty, consent, delegate"
        );
    }

    #[test]
    fn a_delegates_debug_masks_its_code() {
        let d = DelegateRef {
            name: "王五".into(),
            holder_type: "111".into(),
            code: "11010519491231002X".into(),
        };
        assert!(!format!("{d:?}").contains("11010519491231002X"));
        let wire = serde_json::to_value(&d).unwrap();
        assert_eq!(wire["type"], "111");
        assert_eq!(wire["name"], "王五");
    }
}
