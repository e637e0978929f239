//! Error types: [`ValidationError`] for values that do not match the schema, and
//! [`SchemaError`] for a schema text that does not parse or does not link up.

/// A JSON value that does not match its declared type.
///
/// `field` is a dotted path from the top of the object, with list indexes in
/// brackets, e.g. `virtual_network_properties.forwarding_mode` or
/// `network_ipam_refs[0].attr.ipam_subnets[1].subnet.ip_prefix_len`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Dotted path of the offending field.
    pub field: String,
    /// What was wrong with it.
    pub message: String,
}

impl ValidationError {
    /// A new error at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A schema text that cannot be turned into a [`crate::Schema`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A line that does not follow the grammar.
    #[error("schema line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A declaration that names something that is not declared, or declares
    /// something twice.
    #[error("schema: {0}")]
    Link(String),
}
