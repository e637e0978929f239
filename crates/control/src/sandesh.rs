//! The control node's Sandesh XML introspect pages, beside the JSON ones, for the tools
//! Contrail operators already have (`contrail-scrape-ist control nei|route show`):
//!
//! | path | response (`bgp_peer.sandesh`) |
//! |---|---|
//! | `/Snh_ShowBgpNeighborSummaryReq` | `ShowBgpNeighborSummaryResp` of `BgpNeighborResp` |
//! | `/Snh_BgpNeighborReq` | `BgpNeighborListResp`, the same neighbours |
//! | `/Snh_ShowRouteReq?routing_table=&routing_instance=&family=` | `ShowRouteResp`: tables of `ShowRoute` with their `ShowRoutePath`s |
//! | `/bgp_peer.xml` | the requests this page answers |
//!
//! Without a table or instance, `ShowRouteReq` answers the global tables (`bgp.l3vpn.0`,
//! `bgp.evpn.0`, ...), as our `/routes` does. Routes carry no time of change here, so
//! `last_modified` is the time of the answer.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{Display, Write};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cirrus_bgp::rib::query::RouteInfo;
use cirrus_bgp::speaker::config::NeighborInfo;
use cirrus_bgp::types::Family;

use crate::introspect::{Sources, Table, parse_routes_query};

// ---- the XML, as Sandesh writes it ----

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Default)]
struct Fields(String, u32);

impl Fields {
    fn field(&mut self, name: &str, ty: &str, v: impl Display) -> &mut Self {
        self.1 += 1;
        let _ = write!(
            self.0,
            "<{name} type=\"{ty}\" identifier=\"{}\">{}</{name}>",
            self.1,
            escape(&v.to_string())
        );
        self
    }
    fn s(&mut self, name: &str, v: impl Display) -> &mut Self {
        self.field(name, "string", v)
    }
    fn list<T>(
        &mut self,
        name: &str,
        sname: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Fields, T),
    ) -> &mut Self {
        self.1 += 1;
        let (mut body, mut n) = (String::new(), 0);
        for it in items {
            let mut s = Fields::default();
            f(&mut s, it);
            let _ = write!(body, "<{sname}>{}</{sname}>", s.0);
            n += 1;
        }
        let _ = write!(
            self.0,
            "<{name} type=\"list\" identifier=\"{}\"><list type=\"struct\" size=\"{n}\">{body}</list></{name}>",
            self.1
        );
        self
    }
    fn strings<T: Display>(&mut self, name: &str, items: impl IntoIterator<Item = T>) -> &mut Self {
        self.1 += 1;
        let items: Vec<String> = items
            .into_iter()
            .map(|i| format!("<element>{}</element>", escape(&i.to_string())))
            .collect();
        let _ = write!(
            self.0,
            "<{name} type=\"list\" identifier=\"{}\"><list type=\"string\" size=\"{}\">{}</list></{name}>",
            self.1,
            items.len(),
            items.concat()
        );
        self
    }
}

fn response(name: &str, f: impl FnOnce(&mut Fields)) -> Response {
    let mut s = Fields::default();
    f(&mut s);
    let body = format!(
        "<?xml-stylesheet type=\"text/xsl\" href=\"/universal_parse.xsl\"?>\
         <{name} type=\"sandesh\">{}<more type=\"bool\" identifier=\"0\">false</more></{name}>",
        s.0
    );
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// Sandesh's time format (`2026-Dec-02 06:40:55.123456`).
pub fn sandesh_time(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{year}-{}-{day:02} {:02}:{:02}:{:02}.{:06}",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the BGP speaker has stopped",
    )
        .into_response()
}

// ---- neighbours ----

fn family_word(f: Family) -> &'static str {
    match f {
        Family::Inet => "inet",
        Family::Inet6 => "inet6",
        Family::InetVpn => "inet-vpn",
        Family::Inet6Vpn => "inet6-vpn",
        Family::Evpn => "e-vpn",
        Family::RouteTarget => "route-target",
    }
}

fn neighbor(s: &mut Fields, n: &NeighborInfo) {
    let state = format!("{:?}", n.state);
    let rtype = format!("{:?}", n.router_type);
    let router_type = match rtype.as_str() {
        "ControlNode" => "control-node",
        "ExternalControlNode" => "external-control-node",
        _ => "router",
    };
    s.s(
        "instance_name",
        "default-domain:default-project:ip-fabric:__default__",
    )
    .s("peer", n.address)
    .field("deleted", "bool", false)
    .s("peer_address", n.address)
    .s(
        "peer_id",
        n.router_id.map(|r| r.to_string()).unwrap_or_default(),
    )
    .field("peer_asn", "u32", n.asn)
    .s("encoding", "BGP")
    .s(
        "peer_type",
        if router_type == "router" {
            "external"
        } else {
            "internal"
        },
    )
    .s("state", &state)
    .s("router_type", router_type)
    .field("peer_port", "u32", n.port)
    .s(
        "send_state",
        if state == "Established" {
            "in sync"
        } else {
            "not advertising"
        },
    )
    .s("last_error", n.last_error.as_deref().unwrap_or(""))
    .strings(
        "negotiated_address_families",
        n.families.iter().map(|f| family_word(*f)),
    )
    .field("primary_path_count", "u32", n.prefixes_accepted)
    .field("flap_count", "u64", n.flaps)
    .s(
        "flap_time",
        if n.flaps == 0 {
            "n/a".to_string()
        } else {
            "-".to_string()
        },
    )
    .field("prefixes_received", "u64", n.prefixes_received)
    .field("prefixes_advertised", "u64", n.prefixes_advertised)
    .s(
        "uptime",
        n.uptime_secs.map(|u| format!("{u}s")).unwrap_or_default(),
    );
}

fn matches_search(n: &NeighborInfo, q: &HashMap<String, String>) -> bool {
    q.get("search_string")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .is_none_or(|s| n.address.to_string().contains(s))
}

async fn neighbors(
    State(src): State<Sources>,
    Query(q): Query<HashMap<String, String>>,
    resp: &'static str,
) -> Response {
    let Ok(list) = src.speaker.neighbors().await else {
        return unavailable();
    };
    response(resp, |r| {
        r.list(
            "neighbors",
            "BgpNeighborResp",
            list.iter().filter(|n| matches_search(n, &q)),
            neighbor,
        );
    })
}

// ---- routes ----

/// Contrail's name of the table holding `f` routes of `instance` (`None`: the global ones).
fn table_name(instance: Option<&str>, f: Family) -> String {
    match instance {
        None => match f {
            Family::InetVpn => "bgp.l3vpn.0".into(),
            Family::Inet6Vpn => "bgp.l3vpn-inet6.0".into(),
            Family::Evpn => "bgp.evpn.0".into(),
            Family::RouteTarget => "bgp.rtarget.0".into(),
            Family::Inet => "inet.0".into(),
            Family::Inet6 => "inet6.0".into(),
        },
        Some(i) => match f {
            Family::Inet6 | Family::Inet6Vpn => format!("{i}.inet6.0"),
            Family::Evpn => format!("{i}.evpn.0"),
            _ => format!("{i}.inet.0"),
        },
    }
}

fn route_table(s: &mut Fields, instance: &str, name: &str, routes: &[&RouteInfo], now: &str) {
    // Paths grouped by prefix (and RD: a VPN prefix is the pair).
    let mut by: BTreeMap<String, Vec<&RouteInfo>> = BTreeMap::new();
    for r in routes {
        let p = match &r.rd {
            Some(rd) => format!("{rd}:{}", r.prefix),
            None => r.prefix.clone(),
        };
        by.entry(p).or_default().push(r);
    }
    s.s("routing_instance", instance)
        .s("routing_table_name", name)
        .field("deleted", "bool", false)
        .s("deleted_at", "")
        .field("prefixes", "u64", by.len())
        .field("paths", "u64", routes.len())
        .field("primary_paths", "u64", routes.len())
        .field("secondary_paths", "u64", 0)
        .field("infeasible_paths", "u64", 0)
        .field(
            "stale_paths",
            "u64",
            routes.iter().filter(|r| r.stale).count(),
        )
        .field("llgr_stale_paths", "u64", 0)
        .list("routes", "ShowRoute", &by, |rt, (prefix, paths)| {
            rt.s("prefix", prefix).s("last_modified", now).list(
                "paths",
                "ShowRoutePath",
                paths.iter(),
                |p, r| {
                    // Paths from vrouters (`local:vrouter:<name>`) came over the channel.
                    let proto = if r.source.starts_with("local:vrouter") {
                        "XMPP"
                    } else {
                        "BGP"
                    };
                    let encap: Vec<&str> = r
                        .ext_communities
                        .iter()
                        .filter_map(|c| c.strip_prefix("encapsulation:"))
                        .collect();
                    p.s("protocol", proto)
                        .s("last_modified", now)
                        .field("local_preference", "u32", r.local_pref.unwrap_or(100))
                        .field("med", "u32", r.med.unwrap_or(0))
                        .s("source", &r.source)
                        .s("as_path", &r.as_path)
                        .s("next_hop", r.next_hop.as_deref().unwrap_or(""))
                        .field("label", "u32", r.label.unwrap_or(0))
                        .s("origin", "igp")
                        .field("replicated", "bool", false)
                        .s("primary_table", name)
                        .strings(
                            "communities",
                            r.targets
                                .iter()
                                .chain(&r.ext_communities)
                                .chain(&r.communities),
                        )
                        .s("origin_vn", "")
                        .strings("flags", if r.best { vec!["Best"] } else { vec![] })
                        .strings("tunnel_encap", encap)
                        .strings("origin_vn_path", Vec::<String>::new());
                },
            );
        });
}

async fn routes(State(src): State<Sources>, Query(q): Query<HashMap<String, String>>) -> Response {
    // Sandesh's parameters, read as `/routes` reads its own.
    let mut ours = HashMap::new();
    let get = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(t) = get("routing_table").or(get("routing_instance")) {
        ours.insert("instance".to_string(), t.to_string());
    }
    if let Some(f) = get("family") {
        ours.insert("family".to_string(), f.to_string());
    }
    let (table, family) = match parse_routes_query(&ours) {
        Ok(x) => x,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let instance = match &table {
        Table::Global => None,
        Table::Instance(i) => Some(i.as_str()),
    };
    let Ok(found) = src.speaker.routes(instance, family).await else {
        return unavailable();
    };
    let found = found.unwrap_or_default();
    let prefix = get("prefix");
    let now = sandesh_time(std::time::SystemTime::now());
    let mut tables: BTreeMap<String, Vec<&RouteInfo>> = BTreeMap::new();
    for r in &found {
        if prefix.is_some_and(|p| !r.prefix.contains(p)) {
            continue;
        }
        tables
            .entry(table_name(instance, r.family))
            .or_default()
            .push(r);
    }
    let inst = instance
        .unwrap_or("default-domain:default-project:ip-fabric:__default__")
        .to_string();
    response("ShowRouteResp", |r| {
        r.list("tables", "ShowRouteTable", &tables, |t, (name, routes)| {
            route_table(t, &inst, name, routes, &now)
        });
    })
}

async fn module_page() -> Response {
    let reqs = [
        "ShowBgpNeighborSummaryReq",
        "BgpNeighborReq",
        "ShowRouteReq",
    ];
    let body: String = reqs
        .iter()
        .map(|r| format!("<{r} type=\"sandesh\"></{r}>"))
        .collect();
    (
        [(header::CONTENT_TYPE, "text/xml")],
        format!("<?xml-stylesheet type=\"text/xsl\" href=\"/universal_parse.xsl\"?><bgp_peer>{body}</bgp_peer>"),
    )
        .into_response()
}

/// The Sandesh routes, over the same sources as the JSON introspect.
pub fn router(src: Sources) -> Router {
    Router::new()
        .route(
            "/Snh_ShowBgpNeighborSummaryReq",
            get(|s, q| neighbors(s, q, "ShowBgpNeighborSummaryResp")),
        )
        .route(
            "/Snh_BgpNeighborReq",
            get(|s, q| neighbors(s, q, "BgpNeighborListResp")),
        )
        .route("/Snh_ShowRouteReq", get(routes))
        .route("/bgp_peer.xml", get(module_page))
        .with_state(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_sandesh_writes_them() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_796_193_655_123_456);
        assert_eq!(sandesh_time(t), "2026-Dec-02 06:40:55.123456");
        assert_eq!(
            sandesh_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "2000-Feb-29 00:00:00.000000"
        );
    }

    #[test]
    fn tables_are_named_as_contrail_names_them() {
        assert_eq!(table_name(None, Family::InetVpn), "bgp.l3vpn.0");
        assert_eq!(
            table_name(Some("d:p:vn:vn"), Family::Inet),
            "d:p:vn:vn.inet.0"
        );
        assert_eq!(
            table_name(Some("d:p:vn:vn"), Family::Evpn),
            "d:p:vn:vn.evpn.0"
        );
    }
}
