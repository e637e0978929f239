//! The etcd v3 backend (work in progress).

use crate::types::StoreError;

/// A store on an etcd cluster.
pub struct EtcdStore {}

impl EtcdStore {
    pub async fn connect(endpoints: &[String]) -> Result<Self, StoreError> {
        Err(StoreError::Unavailable(format!(
            "etcd backend not implemented yet ({endpoints:?})"
        )))
    }
}
