//! Finding codes in the characters as read: runs of digits and letters, resident IDs and
//! USCCs in them, and the tokens that replace them.

use std::str::FromStr as _;

use super::chars::{Kind, classify, read_chars};
use super::{Edges, Found, HOLDER_TOKEN_PREFIX, REDACTED, is_hex64};
use crate::codes::uscc::looks_like_uscc;
use crate::codes::{HolderCode, ResidentId, Uscc};

/// A digit or letter of the text as read, with its span in the original.
#[derive(Clone, Copy)]
struct Unit {
    kind: Kind,
    start: usize,
    end: usize,
    /// Directly after the previous unit of its run, with no separator between.
    glued: bool,
}

impl Unit {
    /// The ASCII character this unit reads as, for parsing.
    fn ascii(&self) -> char {
        match self.kind {
            Kind::Digit(d) => char::from(b'0' + d),
            Kind::Letter(l) => char::from(l),
            _ => '\u{0}',
        }
    }

    fn is_id_char(&self) -> bool {
        matches!(self.kind, Kind::Digit(_) | Kind::Letter(b'X'))
    }
}

/// Finds codes in `text[from..to]`, a stretch between kept spans.
pub(super) fn find_in_segment(
    text: &str,
    (from, to): (usize, usize),
    edges: Edges,
    decode: bool,
    hash: &dyn Fn(&HolderCode) -> String,
    found: &mut Vec<Found>,
) {
    let Some(segment) = text.get(from..to) else {
        return;
    };
    let chars = read_chars(segment, from, decode);
    let mut run: Vec<Unit> = Vec::new();
    let mut glued = edges.after_kept;
    if edges.after_kept {
        run.push(Unit {
            kind: Kind::Kept,
            start: from,
            end: from,
            glued: false,
        });
    }
    for (c, start, end) in chars {
        let kind = classify(c);
        match kind {
            Kind::Skip => glued = false,
            Kind::Break | Kind::Kept => {
                scan_run(&run, hash, found);
                run.clear();
                glued = false;
            }
            Kind::Digit(_) | Kind::Letter(_) => {
                run.push(Unit {
                    kind,
                    start,
                    end,
                    glued,
                });
                glued = true;
            }
        }
    }
    if edges.before_kept {
        run.push(Unit {
            kind: Kind::Kept,
            start: to,
            end: to,
            glued,
        });
    }
    scan_run(&run, hash, found);
}

/// Replaces, in the digits and letters of one run, each code found with its token.
fn scan_run(run: &[Unit], hash: &dyn Fn(&HolderCode) -> String, found: &mut Vec<Found>) {
    if run.len() < 15 {
        return;
    }
    let n = run.len();
    let mut taken = vec![false; n];
    let mut take = |from: usize, to: usize, with: String, taken: &mut [bool]| {
        taken[from..to].fill(true);
        found.push(Found {
            start: run[from].start,
            end: run[to - 1].end,
            with,
        });
    };
    let text_of =
        |from: usize, to: usize| -> String { run[from..to].iter().map(Unit::ascii).collect() };

    // Runs of digits and X: resident IDs.
    let mut id_runs = Vec::new();
    let mut i = 0;
    while i < n {
        if !run[i].is_id_char() {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && run[i].is_id_char() {
            i += 1;
        }
        if i - start >= 15 {
            id_runs.push((start, i));
        }
    }
    for &(start, end) in &id_runs {
        let mut i = start;
        while i + 18 <= end {
            match ResidentId::from_str(&text_of(i, i + 18)) {
                Ok(id) => {
                    take(i, i + 18, token(&HolderCode::Person(id), hash), &mut taken);
                    i += 18;
                }
                Err(_) => i += 1,
            }
        }
    }

    // Credit codes: 18 letters and digits not glued to a letter or digit on either side.
    let mut i = 0;
    while i + 18 <= n {
        let free = !run[i].glued
            && run.get(i + 18).is_none_or(|u| !u.glued)
            && run[i..i + 18]
                .iter()
                .all(|u| matches!(u.kind, Kind::Digit(_) | Kind::Letter(_)))
            && !taken[i..i + 18].iter().any(|t| *t);
        if free {
            let s = text_of(i, i + 18);
            if looks_like_uscc(&s) {
                let with = match Uscc::from_str(&s) {
                    Ok(code) => token(&HolderCode::Organisation(code), hash),
                    Err(_) => REDACTED.to_owned(),
                };
                take(i, i + 18, with, &mut taken);
                i += 18;
                continue;
            }
        }
        i += 1;
    }

    // What is left of an ID-shaped run, where still 15 or more long.
    for &(start, end) in &id_runs {
        let mut i = start;
        while i < end {
            if taken[i] {
                i += 1;
                continue;
            }
            let piece = i;
            while i < end && !taken[i] {
                i += 1;
            }
            if i - piece >= 15 {
                take(piece, i, REDACTED.to_owned(), &mut taken);
            }
        }
    }
}

/// The token of a code: `<holder:HASH>`, or `<redacted>` for a hash that is not 64 lower-case
/// hex digits (no key).
fn token(code: &HolderCode, hash: &dyn Fn(&HolderCode) -> String) -> String {
    let h = hash(code);
    if is_hex64(&h) {
        format!("{HOLDER_TOKEN_PREFIX}{h}>")
    } else {
        REDACTED.to_owned()
    }
}
