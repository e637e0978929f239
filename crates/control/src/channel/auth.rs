//! Who may open a channel session: per-node tokens from `--channel-token-file` (lines
//! `HOSTNAME TOKEN`; blank lines and `#` comments skipped), or nobody checked at all when no
//! file is given (the plain, open channel, which the controller logs at start).

use std::collections::HashMap;
use std::path::Path;

/// Why a token file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFileError {
    #[error("{path}: {why}")]
    Read { path: String, why: String },
    #[error("{path} line {line}: expected `HOSTNAME TOKEN`, got {got} field(s)")]
    Fields {
        path: String,
        line: usize,
        got: usize,
    },
    #[error("{path} line {line}: hostname {hostname} is listed twice")]
    Duplicate {
        path: String,
        line: usize,
        hostname: String,
    },
}

/// The channel's access rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ChannelAuth {
    /// No token file: every vrouter is accepted.
    #[default]
    Open,
    /// hostname -> token.
    Tokens(HashMap<String, String>),
}

impl ChannelAuth {
    pub fn from_file(path: &Path) -> Result<ChannelAuth, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenFileError::Read {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        ChannelAuth::parse(&path.display().to_string(), &text)
    }

    /// Parses the text of a token file (`path` names it in errors).
    pub fn parse(path: &str, text: &str) -> Result<ChannelAuth, TokenFileError> {
        let mut tokens = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [host, token] = fields[..] else {
                return Err(TokenFileError::Fields {
                    path: path.to_string(),
                    line: i + 1,
                    got: fields.len(),
                });
            };
            if tokens.insert(host.to_string(), token.to_string()).is_some() {
                return Err(TokenFileError::Duplicate {
                    path: path.to_string(),
                    line: i + 1,
                    hostname: host.to_string(),
                });
            }
        }
        Ok(ChannelAuth::Tokens(tokens))
    }

    /// Checks a vrouter's token (from `Hello.token` or the `authorization: Bearer` metadata).
    /// The error says why, without the expected token.
    pub fn check(&self, hostname: &str, token: Option<&str>) -> Result<(), String> {
        let ChannelAuth::Tokens(t) = self else {
            return Ok(());
        };
        let Some(want) = t.get(hostname) else {
            return Err(format!(
                "hostname {hostname} has no token in the controller's token file"
            ));
        };
        match token {
            None | Some("") => Err(format!(
                "Hello.token: vrouter {hostname} sent no token (Hello.token or `authorization: Bearer`)"
            )),
            Some(got) if constant_time_eq(got.as_bytes(), want.as_bytes()) => Ok(()),
            Some(_) => Err(format!("Hello.token: wrong token for vrouter {hostname}")),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ChannelAuth::Open => "open (no --channel-token-file: any vrouter is accepted)".into(),
            ChannelAuth::Tokens(t) => format!("per-node tokens ({} vrouters)", t.len()),
        }
    }
}

/// Compares without an early exit on the first differing octet.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `authorization: Bearer <token>` value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_file_lines_and_checks() {
        let a = ChannelAuth::parse("t", "# vrouters\n\nc1 s3cret\n  c2\tother  \n").unwrap();
        assert_eq!(a.check("c1", Some("s3cret")), Ok(()));
        assert!(
            a.check("c1", Some("s3cre"))
                .unwrap_err()
                .contains("wrong token")
        );
        assert!(a.check("c1", None).unwrap_err().contains("sent no token"));
        assert!(
            a.check("c3", Some("x"))
                .unwrap_err()
                .contains("no token in")
        );
        assert_eq!(a.check("c2", Some("other")), Ok(()));
        assert_eq!(ChannelAuth::Open.check("any", None), Ok(()));
        assert_eq!(
            ChannelAuth::parse("t", "c1 a b\n"),
            Err(TokenFileError::Fields {
                path: "t".into(),
                line: 1,
                got: 3
            })
        );
        assert!(matches!(
            ChannelAuth::parse("t", "c1 a\nc1 b\n"),
            Err(TokenFileError::Duplicate { line: 2, .. })
        ));
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
    }

    proptest! {
        // The file parser never panics, and whatever it accepts maps every listed host to
        // the token on its line.
        #[test]
        fn token_file_parse_never_panics(text in "[a-z0-9 #\\t\\n]{0,200}") {
            if let Ok(ChannelAuth::Tokens(t)) = ChannelAuth::parse("f", &text) {
                for line in text.lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() == 2 && !line.trim().starts_with('#') {
                        prop_assert_eq!(t.get(f[0]).map(String::as_str), Some(f[1]));
                    }
                }
            }
        }

        #[test]
        fn bearer_never_panics(v in "\\PC{0,40}") {
            let _ = bearer(&v);
        }
    }
}
