//! One session's task: reads the vrouter's stream, runs the session state machine on each
//! message, checks the Hello's token, registers the virtual-router, and hands the steps to
//! the hub. A bad message ends the stream with the state machine's status; the end of the
//! stream (either way) tells the hub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cirrus_proto::v1 as pb;
use tonic::{Status, Streaming};

use super::hub::{HubHandle, HubMsg};
use super::service::OutboundTx;
use super::session::{Session, Step};
use crate::vrouter_registry;

/// How long a new stream may take to send its Hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

pub fn spawn(
    hub: Arc<HubHandle>,
    mut inbound: Streaming<pb::AgentMessage>,
    tx: OutboundTx,
    bearer: Option<String>,
    peer: Option<SocketAddr>,
) {
    tokio::spawn(async move {
        let id = hub.next_session();
        let mut s = Session::new(id);
        let first = match tokio::time::timeout(HELLO_TIMEOUT, inbound.message()).await {
            Ok(Ok(Some(m))) => m,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::debug!(session = id, ?peer, error = %e, "stream failed before Hello");
                let _ = tx.send(Err(e));
                return;
            }
            Err(_) => {
                let _ = tx.send(Err(Status::deadline_exceeded(format!(
                    "Hello: none within {HELLO_TIMEOUT:?} of the stream's start"
                ))));
                return;
            }
        };
        let hello = match s.handle(first) {
            Ok(Step::Hello(h)) => h,
            Ok(_) => return,
            Err(st) => {
                let _ = tx.send(Err(st));
                return;
            }
        };
        let token = if hello.token.is_empty() {
            bearer.as_deref()
        } else {
            Some(hello.token.as_str())
        };
        if let Err(why) = hub.auth.check(&hello.hostname, token) {
            tracing::warn!(session = id, ?peer, vrouter = %hello.hostname, why, "vrouter refused");
            let _ = tx.send(Err(Status::unauthenticated(why)));
            return;
        }
        let vr = match vrouter_registry::ensure(&hub.state, &hello.hostname, hello.address).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(session = id, error = %e, "cannot register the vrouter");
                let _ = tx.send(Err(Status::unavailable(e.to_string())));
                return;
            }
        };
        if !hub.send(HubMsg::Open {
            id,
            hello,
            vr_uuid: vr.uuid.clone(),
            tx: tx.clone(),
            peer,
        }) {
            let _ = tx.send(Err(Status::unavailable("the control node is stopping")));
            return;
        }
        loop {
            match inbound.message().await {
                Ok(Some(m)) => match s.handle(m) {
                    Ok(step) => {
                        if !hub.send(HubMsg::Step { id, step }) {
                            break;
                        }
                    }
                    Err(st) => {
                        let _ = tx.send(Err(st));
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(session = id, error = %e, "stream failed");
                    break;
                }
            }
        }
        s.close();
        hub.send(HubMsg::Closed { id });
    });
}
