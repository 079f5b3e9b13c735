//! The rules for the names a release is known by: its own and its cookie.

use crate::error::{Error, Result};

/// Release names become file names, node names and atoms: the same rule
/// as `mix release`.
pub fn validate_release_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Option(format!(
            "invalid release name `{name}`: use a lowercase ASCII letter followed by lowercase letters, digits or underscores"
        )))
    }
}

/// The one rule for cookies: printable ASCII, spaces only inside (an
/// atom such as Distillery's `:"Unused with Nerves"` is a valid cookie);
/// the launcher passes it through the environment, never a command line.
pub fn is_valid_cookie(cookie: &str) -> bool {
    !cookie.is_empty()
        && cookie.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        && cookie.trim() == cookie
}

/// What [`is_valid_cookie`] asks of a cookie, for messages.
pub const COOKIE_RULE: &str = "printable ASCII, with no space at either end";

/// Checks an explicitly given cookie.
pub fn validate_cookie(cookie: &str) -> Result<()> {
    if is_valid_cookie(cookie) {
        Ok(())
    } else {
        Err(Error::Option(format!("invalid cookie: use {COOKIE_RULE}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_cookies_are_checked() {
        assert!(validate_cookie("abc").is_ok());
        assert!(validate_cookie("").is_err());
        assert!(validate_cookie("Unused with Nerves").is_ok());
        for bad in [" a", "a ", "a\tb", "caf\u{e9}"] {
            assert!(validate_cookie(bad).is_err(), "{bad:?}");
        }
    }
}
