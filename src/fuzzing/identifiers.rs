//! The identifier parsers of [`crate::codes`] under arbitrary text.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use time::macros::date;

use crate::codes::{
    CodeError, HolderCode, HolderType, LicenceId, LicenceTypeCode, RegionCode, ResidentId, Uscc,
};

/// Feed `data` (read as UTF-8, invalid sequences replaced) to every identifier parser in
/// [`crate::codes`]: [`Uscc`], [`Uscc::from_body`], [`ResidentId`] (with today's date and with
/// [`ResidentId::parse_at`] on a fixed date), [`RegionCode`], [`LicenceTypeCode`],
/// [`LicenceId`], [`HolderType`] and [`HolderCode`].
///
/// Panics (which is what a fuzzer looks for) if a parser panics, or if a value it accepts does
/// not come back equal after `Display` and `FromStr`. Never panics otherwise.
pub fn fuzz_identifiers(data: &[u8]) {
    /// Parse with `FromStr` and, if accepted, check the round trip.
    fn round_trip<T>(s: &str) -> Option<T>
    where
        T: FromStr<Err = CodeError> + Display + Debug + PartialEq,
    {
        let value = s.parse::<T>().ok()?;
        assert_eq!(value.to_string().parse::<T>().as_ref(), Ok(&value));
        Some(value)
    }

    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();

    round_trip::<Uscc>(s);
    round_trip::<ResidentId>(s);
    round_trip::<RegionCode>(s);
    round_trip::<LicenceTypeCode>(s);
    round_trip::<LicenceId>(s);

    if let Ok(code) = Uscc::from_body(s) {
        assert_eq!(code.to_string().parse::<Uscc>().as_ref(), Ok(&code));
    }

    let fixed_day = date!(2025 - 06 - 01);
    if let Ok(id) = ResidentId::parse_at(s, fixed_day) {
        assert_eq!(
            ResidentId::parse_at(&id.to_string(), fixed_day).as_ref(),
            Ok(&id)
        );
    }

    if let Ok(holder_type) = s.parse::<HolderType>() {
        assert_eq!(
            holder_type.to_string().parse::<HolderType>(),
            Ok(holder_type)
        );
    }
    for holder_type in [HolderType::Person, HolderType::Organisation] {
        if let Ok(holder) = HolderCode::parse_at(holder_type, s, fixed_day) {
            assert_eq!(holder.holder_type(), holder_type);
            assert_eq!(
                HolderCode::parse_at(holder_type, &holder.to_string(), fixed_day).as_ref(),
                Ok(&holder)
            );
        }
    }
}

#[cfg(test)]
mod identifier_tests {
    use super::fuzz_identifiers;
    use proptest::prelude::*;

    /// Seeds: valid codes of every kind, and near misses.
    const SEEDS: &[&[u8]] = &[
        b"",
        b"11100000000013338W",
        b"11100000000013338",
        b"11100000000013338X",
        b"91110000600037341L",
        // GB 11643's own example resident ID number (nobody's), and in lower case.
        b"11010519491231002X",
        b"11010519491231002x",
        b"110105491231002",
        // The domain notes' invalid example (wrong check character): nobody's number either.
        b"110101197608056896",
        b"11010520000229001",
        b"370125",
        b"190000",
        b"11100000000013338W032",
        b"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        b"1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        b"1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M",
        b"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F",
        b"111",
        b"001",
        "一二三四五六七八九十一二三四五六七八".as_bytes(),
        b"\xff\xfe11100000000013338W",
        b"11010519491231002\xc3",
    ];

    #[test]
    fn seeds() {
        for seed in SEEDS {
            fuzz_identifiers(seed);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            fuzz_identifiers(&data);
        }

        #[test]
        fn arbitrary_text(s in "\\PC{0,100}") {
            fuzz_identifiers(s.as_bytes());
        }
    }
}
