//! Floating IPs' pool: Contrail keeps a floating-ip-pool under every external network
//! (`router:external`), from whose subnets floating IPs are allocated. (The floating IP
//! resource itself is not served yet.)

use cirrus_api::object::Obj;
use serde_json::{Map, json};

use crate::ctx::Ctx;
use crate::error::NResult;
use crate::vnc;

pub const POOL: &str = "floating-ip-pool";

/// Creates the network's floating-ip-pool unless it has one.
pub async fn ensure_pool(ctx: &Ctx, net: &Obj) -> NResult<()> {
    let has = ctx
        .state
        .index()
        .children(&net.uuid)
        .any(|c| c.type_name() == POOL);
    if has {
        return Ok(());
    }
    let mut fq = net.fq_name.clone();
    fq.push("floating-ip-pool".into());
    let mut input = Map::new();
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("virtual-network"));
    input.insert(
        "perms2".into(),
        json!({"owner": vnc::tenant(net), "owner_access": 7, "global_access": 5}),
    );
    vnc::create_companion(ctx, POOL, input).await?;
    Ok(())
}
