//! Network IPAMs: their subnets stored as the address manager reads them (flat and
//! user-defined subnet methods, defaults, overlaps), see `vn_subnets`.

use super::{Companions, Ctx};
use crate::error::ApiResult;
use crate::object::Obj;
use crate::write::Planned;

pub(super) fn create(c: &Ctx, obj: &mut Obj, _: &mut Planned) -> ApiResult<Companions> {
    crate::vn_subnets::normalize_ipam(c.index, c.what, obj, None)?;
    Ok(vec![])
}

pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, _: &mut Planned) -> ApiResult<()> {
    crate::vn_subnets::normalize_ipam(c.index, c.what, new, Some(old))
}
