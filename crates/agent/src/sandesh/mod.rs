//! The agent's Sandesh XML introspect pages, beside the JSON ones on the same listener, for
//! the tools Contrail operators already have (`contrail-scrape`, `contrail-introspect-cli`):
//!
//! | path | response |
//! |---|---|
//! | `/Snh_ItfReq` | `ItfResp`: ports (`name`, `uuid`, `vn`, `mac`, `ipv4_address` filter) |
//! | `/Snh_VrfListReq` | `VrfListResp`: VRFs (`name` filter) |
//! | `/Snh_Inet4UcRouteReq?vrf_index=N` | `Inet4UcRouteResp`: a VRF's IPv4 routes (also without `Snh_`) |
//! | `/Snh_KFlowReq` | `KFlowResp`: flow entries |
//! | `/Snh_KDropStatsReq` | `KDropStatsResp`: drop counters |
//! | `/agent.xml`, `/kstate.xml` | the requests each module answers (what crawlers read) |
//!
//! The structures are those of Contrail's `agent.sandesh` and `kstate.sandesh`; the data is
//! what the JSON pages show.

mod kstate;
mod oper;
pub mod xml;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cirrus_packet_io::report::FlowFilter;

use crate::introspect::Introspect;

pub use kstate::ds_field;

type Params = Query<HashMap<String, String>>;

fn xml_answer(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("{e}")).into_response()
}

/// The requests of each module page.
const MODULES: &[(&str, &[&str])] = &[
    ("agent", &["ItfReq", "VrfListReq", "Inet4UcRouteReq"]),
    ("kstate", &["KFlowReq", "KDropStatsReq"]),
];

fn module_page(name: &str, reqs: &[&str]) -> String {
    let body: String = reqs
        .iter()
        .map(|r| format!("<{r} type=\"sandesh\"></{r}>"))
        .collect();
    format!(
        "<?xml-stylesheet type=\"text/xsl\" href=\"/universal_parse.xsl\"?><{name}>{body}</{name}>"
    )
}

/// The index page: the Sandesh module pages (as Contrail's index lists them) and the JSON
/// pages.
pub fn index_html(json: &[&str]) -> String {
    let mut out = String::from("<html><head><title>cirrus-vrouter introspect</title></head><body>");
    for (m, _) in MODULES {
        out.push_str(&format!("<a href=\"{m}.xml\">{m}.xml</a><br/>"));
    }
    for j in json {
        out.push_str(&format!("<a href=\"{j}\">{j}</a><br/>", j = xml::escape(j)));
    }
    out.push_str("</body></html>");
    out
}

async fn itf(State(s): State<Introspect>, Query(q): Params) -> Response {
    xml_answer(oper::itf(&s.status.load(), &s.ctx.load(), &q))
}

async fn vrfs(State(s): State<Introspect>, Query(q): Params) -> Response {
    xml_answer(oper::vrfs(&s.status.load(), &q))
}

async fn inet4(State(s): State<Introspect>, Query(q): Params) -> Response {
    xml_answer(oper::inet4_routes(&s.status.load(), &s.ctx.load(), &q))
}

async fn kflow(State(s): State<Introspect>, Query(q): Params) -> Response {
    let h = s.handle.clone();
    let one = q
        .get("flow_idx")
        .and_then(|i| i.parse::<i64>().ok())
        .filter(|i| *i >= 0);
    match tokio::task::spawn_blocking(move || h.flows(FlowFilter::All, 10_000)).await {
        Ok(Ok(w)) => {
            let list: Vec<(usize, &_)> = w
                .iter()
                .flat_map(|x| x.flows.iter().map(move |r| (x.worker, r)))
                .filter(|(wk, r)| {
                    one.is_none_or(|i| i == ((*wk as i64) << 24 | i64::from(r.index)))
                })
                .collect();
            xml_answer(kstate::flows(&list))
        }
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e),
    }
}

async fn kdrop(State(s): State<Introspect>) -> Response {
    let h = s.handle.clone();
    match tokio::task::spawn_blocking(move || h.report()).await {
        Ok(Ok(r)) => xml_answer(kstate::drop_stats(&r.drops(), r.handoff_lost)),
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e),
    }
}

/// The Sandesh routes.
pub fn router(s: Introspect) -> Router {
    let mut r = Router::new()
        .route("/Snh_ItfReq", get(itf))
        .route("/Snh_VrfListReq", get(vrfs))
        .route("/Snh_Inet4UcRouteReq", get(inet4))
        // contrail-scrape-ist asks for this one without the prefix.
        .route("/Inet4UcRouteReq", get(inet4))
        .route("/Snh_KFlowReq", get(kflow))
        .route("/Snh_KDropStatsReq", get(kdrop));
    for (m, reqs) in MODULES {
        let page = module_page(m, reqs);
        r = r.route(
            &format!("/{m}.xml"),
            get(move || async move { xml_answer(page) }),
        );
    }
    r.with_state(s)
}
