//! Sub-clusters (Contrail's `sub_cluster.py`): the ASN is fixed at creation.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if let Some(old) = old
        && old.body.get("sub_cluster_asn") != new.body.get("sub_cluster_asn")
    {
        return Err(ApiError::bad_request(format!(
            "{}: Sub cluster ASN can not be modified",
            c.what
        )));
    }
    Ok(())
}
