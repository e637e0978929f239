//! Security groups: a server-allocated `security_group_id` (from 8000000, never changed by a
//! client), and the project's `security_group_rule` quota over all its groups' rules.

use super::{Companions, Ctx, allocate_id, server_owned};
use crate::alloc::ids::SG_IDS;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;
use crate::write::Planned;

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    server_owned(c, obj, SG_IDS.1)?;
    crate::quota::check_security_group_rules(c.index, c.quotas, c.what, obj, None, p)?;
    allocate_id(c, obj, p, SG_IDS)?;
    Ok(vec![])
}

pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    if old.body.get(SG_IDS.1) != new.body.get(SG_IDS.1) {
        return Err(ApiError::server_owned(c.what, SG_IDS.1, "changed"));
    }
    crate::quota::check_security_group_rules(c.index, c.quotas, c.what, new, Some(old), p)
}
