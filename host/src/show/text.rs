//! Text helpers every view shares: guest text made safe to print on one line, and
//! request ids shown without the tag a guest keeps in their top byte. A leaf: the report,
//! the timeline, the diagram and `explain` (and `conform`) use it, and it uses nothing.

use std::borrow::Cow;
use std::fmt::Write;

/// Text a guest supplied (a log line, a trap message, a payload inside a detail), made safe
/// to print as one line: control characters (a line break that would start a fake `PASS`
/// line, a terminal escape) are shown escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Request and timer ids without the tag a guest keeps in their top byte: `#300000000000004`
/// reads `#4`.
pub fn short_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('#') {
        out += &rest[..=i];
        rest = &rest[i + 1..];
        let digits = rest.chars().take_while(char::is_ascii_hexdigit).count();
        if digits >= 9
            && let Ok(id) = u64::from_str_radix(&rest[..digits], 16)
        {
            let _ = write!(out, "{:x}", id & 0x00ff_ffff_ffff_ffff);
            rest = &rest[digits..];
        }
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_cannot_draw_a_line_of_its_own() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(
            one_line("x\n    ok   all_good\u{1b}[2J"),
            "x\\n    ok   all_good\\u{1b}[2J"
        );
    }

    #[test]
    fn ids_lose_the_guests_tag_and_short_ones_stay() {
        assert_eq!(
            short_ids("<- N1: MetadataUpdate #300000000000004: Logs v1"),
            "<- N1: MetadataUpdate #4: Logs v1"
        );
        assert_eq!(short_ids("op #12 and #ff"), "op #12 and #ff");
        assert_eq!(short_ids("trailing #"), "trailing #");
    }
}
