//! 持证主体: who holds a licence, and the code that identifies them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use super::error::CodeError;
use super::resident_id::{ResidentId, today_in_china};
use super::uscc::Uscc;

/// The kind of holder (持证主体代码类型), which says how the holder code is read.
///
/// Serialised, parsed and displayed as its code: `"111"` (公民身份号码) for a person and
/// `"001"` (统一社会信用代码) for an organisation. Any other code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HolderType {
    /// A person, identified by a [`ResidentId`]; code `111`.
    #[serde(rename = "111")]
    Person,
    /// An organisation, identified by a [`Uscc`]; code `001`.
    #[serde(rename = "001")]
    Organisation,
}

impl HolderType {
    /// The three-digit code: `"111"` or `"001"`.
    pub fn code(self) -> &'static str {
        match self {
            HolderType::Person => "111",
            HolderType::Organisation => "001",
        }
    }
}

impl FromStr for HolderType {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "111" => Ok(HolderType::Person),
            "001" => Ok(HolderType::Organisation),
            _ => Err(CodeError::UnknownHolderType),
        }
    }
}

impl fmt::Display for HolderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The code of a licence's holder (持证主体代码): a person's [`ResidentId`] or an
/// organisation's [`Uscc`].
///
/// `Debug` masks a person's number (see [`ResidentId`]); `Display` and
/// [`as_str`](HolderCode::as_str) give it in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HolderCode {
    /// A person.
    Person(ResidentId),
    /// An organisation.
    Organisation(Uscc),
}

impl HolderCode {
    /// Parse `s` as the kind of code `holder_type` says, checking a person's birth date
    /// against today in China Standard Time. Refuses what [`ResidentId`] or [`Uscc`] refuses.
    pub fn parse(holder_type: HolderType, s: &str) -> Result<HolderCode, CodeError> {
        HolderCode::parse_at(holder_type, s, today_in_china())
    }

    /// Like [`HolderCode::parse`], checking a person's birth date against `today`.
    pub fn parse_at(
        holder_type: HolderType,
        s: &str,
        today: Date,
    ) -> Result<HolderCode, CodeError> {
        match holder_type {
            HolderType::Person => ResidentId::parse_at(s, today).map(HolderCode::Person),
            HolderType::Organisation => s.parse().map(HolderCode::Organisation),
        }
    }

    /// The kind of holder.
    pub fn holder_type(&self) -> HolderType {
        match self {
            HolderCode::Person(_) => HolderType::Person,
            HolderCode::Organisation(_) => HolderType::Organisation,
        }
    }

    /// The code in full.
    pub fn as_str(&self) -> &str {
        match self {
            HolderCode::Person(id) => id.as_str(),
            HolderCode::Organisation(code) => code.as_str(),
        }
    }
}

impl fmt::Display for HolderCode {
    /// The code in full, as in a signed licence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::{RESIDENT_ID, USCC};
    use super::*;
    use time::macros::date;

    /// The example resident ID number printed in GB 11643 itself: valid, and nobody's.
    const EXAMPLE_ID: &str = "11010519491231002X";
    /// The domain notes' invalid example: its check character is wrong (6, not 7), so it is
    /// nobody's number.
    const BAD_CHECK_EXAMPLE: &str = "110101197608056896";

    #[test]
    fn holder_type_codes() {
        for t in [HolderType::Person, HolderType::Organisation] {
            assert_eq!(t.code().parse::<HolderType>().unwrap(), t);
            assert_eq!(t.to_string(), t.code());
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert_eq!(serde_json::from_str::<HolderType>(&json).unwrap(), t);
        }
        for bad in ["", "11", "1111", "002", "person"] {
            assert_eq!(bad.parse::<HolderType>(), Err(CodeError::UnknownHolderType));
        }
        assert!(serde_json::from_str::<HolderType>("\"002\"").is_err());
    }

    #[test]
    fn person() {
        let today = date!(2025 - 06 - 01);
        let holder = HolderCode::parse_at(HolderType::Person, EXAMPLE_ID, today).unwrap();
        assert_eq!(holder.holder_type(), HolderType::Person);
        assert_eq!(holder.as_str(), EXAMPLE_ID);
        assert_eq!(holder.to_string(), EXAMPLE_ID);
        assert_eq!(
            format!("{holder:?}"),
            "Person(ResidentId(110105********002X))"
        );
        assert_eq!(
            HolderCode::parse(HolderType::Person, EXAMPLE_ID).unwrap(),
            holder
        );
        assert!(matches!(
            HolderCode::parse_at(HolderType::Person, BAD_CHECK_EXAMPLE, today),
            Err(CodeError::BadCheckCharacter {
                what: RESIDENT_ID,
                ..
            })
        ));
        assert!(matches!(
            HolderCode::parse(HolderType::Person, "91110000600037341L"),
            Err(CodeError::BadCharacter {
                what: RESIDENT_ID,
                position: 18,
                found: 'L',
                ..
            })
        ));
    }

    #[test]
    fn organisation() {
        let holder = HolderCode::parse(HolderType::Organisation, "91110000600037341L").unwrap();
        assert_eq!(holder.holder_type(), HolderType::Organisation);
        assert_eq!(holder.as_str(), "91110000600037341L");
        assert_eq!(
            format!("{holder:?}"),
            "Organisation(Uscc(91110000600037341L))"
        );
        assert!(matches!(
            HolderCode::parse(HolderType::Organisation, "91110000600037341M"),
            Err(CodeError::BadCheckCharacter { what: USCC, .. })
        ));
        // A valid resident ID is not a USCC.
        assert!(matches!(
            HolderCode::parse(HolderType::Organisation, EXAMPLE_ID),
            Err(CodeError::BadCheckCharacter { what: USCC, .. })
        ));
    }
}
