//! GoBGP's RIB as `gobgp global rib -a FAMILY -j` prints it, read field by field, so that a
//! test asserts on one route's RD, labels, targets and next hop rather than on text that any
//! route in the table could contain, and a "route gone" check first proves the table was read.

use serde_json::Value;

/// One path of one route.
#[derive(Debug, Clone)]
pub struct GPath(pub Value);

/// Every path in the JSON answer; panics (naming the answer) when it is not GoBGP's RIB map.
pub fn paths(json: &str) -> Vec<GPath> {
    let v: Value = serde_json::from_str(json.trim())
        .unwrap_or_else(|e| panic!("gobgp did not print its RIB as JSON ({e}): {json}"));
    let map = v
        .as_object()
        .unwrap_or_else(|| panic!("gobgp's RIB is not a JSON object: {json}"));
    assert!(map.get("error").is_none(), "gobgp: {json}");
    map.values()
        .flat_map(|p| {
            p.as_array()
                .unwrap_or_else(|| panic!("gobgp RIB entry is not a list of paths: {json}"))
                .iter()
                .cloned()
                .map(GPath)
        })
        .collect()
}

impl GPath {
    /// The NLRI's fields (EVPN keeps them under `value`).
    fn field(&self, k: &str) -> &Value {
        let n = &self.0["nlri"];
        if n.get("value").is_some() {
            &n["value"][k]
        } else {
            &n[k]
        }
    }

    /// EVPN route type (2, 5, ...); `None` for VPN routes.
    pub fn route_type(&self) -> Option<u64> {
        self.0["nlri"]["type"].as_u64()
    }

    pub fn prefix(&self) -> Option<&str> {
        self.field("prefix").as_str()
    }

    pub fn mac(&self) -> Option<&str> {
        self.field("mac").as_str()
    }

    pub fn ip(&self) -> Option<&str> {
        self.field("ip").as_str()
    }

    /// `admin:assigned`, as Cirrus and FRR print an RD.
    pub fn rd(&self) -> String {
        let rd = self.field("rd");
        let part = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        format!("{}:{}", part(&rd["admin"]), part(&rd["assigned"]))
    }

    /// The label field(s): `labels` (VPN, EVPN type 2) or `label` (EVPN type 5).
    pub fn labels(&self) -> Vec<u64> {
        match self.field("labels").as_array() {
            Some(a) => a.iter().filter_map(Value::as_u64).collect(),
            None => self.field("label").as_u64().into_iter().collect(),
        }
    }

    fn attr(&self, ty: u64) -> Option<&Value> {
        self.0["attrs"]
            .as_array()?
            .iter()
            .find(|a| a["type"].as_u64() == Some(ty))
    }

    /// MP_REACH's next hop, else NEXT_HOP's.
    pub fn next_hop(&self) -> Option<&str> {
        self.attr(14)
            .or_else(|| self.attr(3))
            .and_then(|a| a["nexthop"].as_str())
    }

    fn ext(&self) -> Vec<&Value> {
        self.attr(16)
            .and_then(|a| a["value"].as_array())
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }

    /// Route targets as `admin:assigned`.
    pub fn targets(&self) -> Vec<String> {
        self.ext()
            .into_iter()
            .filter(|c| c["subtype"].as_u64() == Some(2) && c["type"].as_u64() <= Some(2))
            .filter_map(|c| c["value"].as_str().map(str::to_string))
            .collect()
    }

    /// The encapsulation extended community's tunnel type (RFC 9012: 8 VXLAN, 10 MPLS in
    /// UDP... as GoBGP numbers them), if any.
    pub fn tunnel_type(&self) -> Option<u64> {
        self.ext()
            .into_iter()
            .find(|c| c["type"].as_u64() == Some(3) && c["subtype"].as_u64() == Some(12))
            .and_then(|c| c["tunnel_type"].as_u64())
    }

    /// The EVPN router's MAC extended community (RFC 9135), if any.
    pub fn router_mac(&self) -> Option<&str> {
        self.ext()
            .into_iter()
            .find(|c| c["type"].as_u64() == Some(6) && c["subtype"].as_u64() == Some(3))
            .and_then(|c| c["mac"].as_str())
    }

    /// COMMUNITIES as 32-bit values.
    pub fn communities(&self) -> Vec<u64> {
        self.attr(8)
            .and_then(|a| a["communities"].as_array())
            .map(|v| v.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }
}
