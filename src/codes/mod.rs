//! Identifier codes, parsed once at the edge and carried as validated types.
//!
//! Each code is a type that cannot hold a bad value: it is built by [`FromStr`](std::str::FromStr)
//! (or a constructor that computes the check character), displayed as its canonical string,
//! and serialised with serde as that string; deserialising parses it again, so bad input is a
//! serde error that carries the [`CodeError`] message.
//!
//! - [`Uscc`]: 统一社会信用代码 (GB 32100-2015), for issuers, ministries and organisations;
//! - [`ResidentId`]: 居民身份证号 (GB 11643-1999), for persons; personal data, masked in `Debug`;
//! - [`RegionCode`]: 行政区划代码 (GB/T 2260);
//! - [`LicenceTypeCode`]: a ministry's [`Uscc`] and a three-digit sequence;
//! - [`LicenceId`]: 电子证照标识 (GB/T 36904-2018), built from the above;
//! - [`HolderType`] and [`HolderCode`]: who holds a licence.
//!
//! Every parser refuses rather than panics, on any input (including non-ASCII text), and
//! reports the first fault as a [`CodeError`] naming the code, position and character.

mod check;
mod error;
mod holder;
mod licence_id;
mod region;
mod resident_id;
mod type_code;
mod uscc;

pub use check::mod37_36_check;
pub use error::CodeError;
pub use holder::{HolderCode, HolderType};
pub use licence_id::LicenceId;
pub use region::RegionCode;
pub use resident_id::ResidentId;
pub use type_code::LicenceTypeCode;
pub use uscc::Uscc;

/// Serialise a code as its string and deserialise it through `FromStr`.
macro_rules! string_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
use string_serde;
