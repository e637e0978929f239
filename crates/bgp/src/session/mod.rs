//! The sans-I/O BGP session: RFC 4271 section 8 finite state machine plus OPEN negotiation
//! (RFC 4760, 6793, 2918, 4724, 9494) and message-level error handling (RFC 7606).
//!
//! `Session::handle(event) -> Vec<Action>`: no sockets, no clock, no tasks. The driver turns TCP
//! and timers into [`Event`]s and carries out the [`Action`]s. States and events keep the RFC's
//! names so the code reads next to section 8.2.2.

mod negotiate;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use negotiate::Negotiated;

use crate::codec::{self, CodecContext};
use crate::message::{Message, Notification, RouteRefresh, Update, codes};
use crate::types::Family;

/// RFC 4271 section 8.2.2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

/// Session timers (RFC 4271 section 10), run by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    ConnectRetry,
    Hold,
    Keepalive,
}

/// Inputs to the FSM (RFC 4271 section 8.1 names where one exists).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Event 1.
    ManualStart,
    /// Event 2.
    ManualStop,
    /// Event 9 (also the idle-hold restart after an error).
    ConnectRetryTimerExpires,
    /// Event 10.
    HoldTimerExpires,
    /// Event 11.
    KeepaliveTimerExpires,
    /// Event 16/17: our outbound connection is up.
    TcpCrAcked,
    /// Event 17: an inbound connection was accepted for this peer.
    TcpConnectionConfirmed,
    /// Event 18.
    TcpConnectionFails,
    /// Bytes read from the connection; framing and decoding (events 19-28) happen inside.
    Data(Vec<u8>),
}

/// Why the session left Established (or failed to reach it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownReason {
    pub text: String,
    pub sent: Option<Notification>,
    pub received: Option<Notification>,
    /// Graceful restart applies: the peer's routes are kept as stale (RFC 4724 section 4.2).
    pub graceful: bool,
}

/// Outputs of the FSM, for the driver to carry out in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a TCP connection to the peer.
    Connect,
    /// Write these bytes.
    Send(Vec<u8>),
    /// Close the TCP connection.
    CloseConnection,
    StartTimer(Timer, u32),
    StopTimer(Timer),
    /// The session reached Established with these parameters.
    Established(Box<Negotiated>),
    /// Routes (or an End-of-RIB) from the peer, already checked per RFC 7606.
    Received(Box<Update>),
    /// The peer asked us to re-send a family (RFC 2918).
    RouteRefreshRequested(Family),
    /// The session went down after having been Established (or gave up trying).
    Down(DownReason),
}

/// Per-session configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    pub local_asn: u32,
    pub router_id: Ipv4Addr,
    pub peer_asn: u32,
    /// Proposed hold time in seconds (0 disables keepalives; else at least 3).
    pub hold_time: u16,
    pub families: Vec<Family>,
    /// Advertise graceful restart with this restart time (helper and restarting-speaker bits).
    pub graceful_restart: Option<u16>,
    /// Advertise long-lived graceful restart with this stale time.
    pub llgr_stale_time: Option<u32>,
    /// Wait for the peer to connect instead of connecting out.
    pub passive: bool,
    /// Seconds between connection attempts (and idle hold after an error).
    pub connect_retry: u32,
}

/// Hold time used in OpenSent before the peer's OPEN arrives (RFC 4271 section 8.2.2: "large").
const OPEN_SENT_HOLD: u32 = 240;

/// One BGP session with one peer.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    buf: Vec<u8>,
    ctx: CodecContext,
    negotiated: Option<Negotiated>,
    stopped: bool,
}

impl Session {
    pub fn new(cfg: SessionConfig) -> Session {
        Session {
            cfg,
            state: State::Idle,
            buf: Vec::new(),
            ctx: CodecContext::default(),
            negotiated: None,
            stopped: true,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Negotiated parameters while Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::ManualStart => {
                self.stopped = false;
                if self.state == State::Idle {
                    self.start(&mut out);
                }
            }
            Event::ManualStop => {
                self.stopped = true;
                let n = Notification::new(codes::CEASE, codes::CEASE_ADMIN_SHUTDOWN, []);
                self.fail(&mut out, "administratively stopped", Some(n), None, false);
                out.push(Action::StopTimer(Timer::ConnectRetry));
            }
            Event::ConnectRetryTimerExpires => match self.state {
                State::Idle if !self.stopped => self.start(&mut out),
                State::Connect | State::Active if !self.cfg.passive => {
                    out.push(Action::CloseConnection);
                    out.push(Action::StartTimer(
                        Timer::ConnectRetry,
                        self.cfg.connect_retry,
                    ));
                    out.push(Action::Connect);
                    self.state = State::Connect;
                }
                State::Active => {
                    out.push(Action::StartTimer(
                        Timer::ConnectRetry,
                        self.cfg.connect_retry,
                    ));
                }
                _ => {}
            },
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => match self.state {
                State::Connect | State::Active => {
                    out.push(Action::StopTimer(Timer::ConnectRetry));
                    self.buf.clear();
                    self.send(&mut out, &Message::Open(negotiate::our_open(&self.cfg)));
                    out.push(Action::StartTimer(Timer::Hold, OPEN_SENT_HOLD));
                    self.state = State::OpenSent;
                }
                // A second connection while one is in use: refuse it (collision handling
                // picks which connection reaches the FSM, see the driver).
                _ => {}
            },
            Event::TcpConnectionFails => match self.state {
                State::Connect | State::Active => {
                    out.push(Action::StartTimer(
                        Timer::ConnectRetry,
                        self.cfg.connect_retry,
                    ));
                    self.state = State::Active;
                }
                State::Idle => {}
                _ => self.fail(&mut out, "connection closed by peer", None, None, true),
            },
            Event::HoldTimerExpires => {
                if matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    let n = Notification::new(codes::HOLD_TIMER_EXPIRED, 0, []);
                    self.fail(&mut out, "hold timer expired", Some(n), None, true);
                }
            }
            Event::KeepaliveTimerExpires => {
                if matches!(self.state, State::OpenConfirm | State::Established) {
                    self.send(&mut out, &Message::Keepalive);
                    if let Some(k) = self.negotiated.as_ref().map(|n| n.keepalive) {
                        out.push(Action::StartTimer(Timer::Keepalive, k));
                    }
                }
            }
            Event::Data(bytes) => self.data(&mut out, bytes),
        }
        out
    }

    /// Forgets the current connection without any action and waits in Active: the driver
    /// calls this before handing the FSM an inbound connection that won a collision.
    pub fn reset_to_active(&mut self) {
        self.state = State::Active;
        self.stopped = false;
        self.buf.clear();
        self.negotiated = None;
    }

    /// Encodes an UPDATE for the peer (Established only; else nothing).
    pub fn send_update(&mut self, u: &Update) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(n) = &self.negotiated else {
            return out;
        };
        if self.state != State::Established {
            return out;
        }
        match codec::encode_update_packed(u, n.asn4) {
            Ok(msgs) => out.extend(msgs.into_iter().map(Action::Send)),
            Err(e) => tracing::warn!(error = %e, "cannot encode UPDATE, dropped"),
        }
        out
    }

    /// Whether UPDATEs for this peer use 4-octet AS paths (`None` unless Established). Lets the
    /// driver encode an UPDATE once for every peer that gets the same bytes.
    pub fn update_encoding(&self) -> Option<bool> {
        (self.state == State::Established)
            .then(|| self.negotiated.as_ref().map(|n| n.asn4))
            .flatten()
    }

    /// Sends UPDATEs encoded elsewhere for [`Session::update_encoding`] (Established only).
    pub fn send_encoded(&mut self, msgs: &[Vec<u8>]) -> Vec<Action> {
        if self.state != State::Established {
            return Vec::new();
        }
        msgs.iter().cloned().map(Action::Send).collect()
    }

    /// Asks the peer to re-send a family (RFC 2918), when it supports route refresh.
    pub fn request_refresh(&mut self, f: Family) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Established
            && self
                .negotiated
                .as_ref()
                .is_some_and(|n| n.route_refresh && n.families.contains(&f))
        {
            self.send(&mut out, &Message::RouteRefresh(RouteRefresh::request(f)));
        }
        out
    }

    fn start(&mut self, out: &mut Vec<Action>) {
        out.push(Action::StartTimer(
            Timer::ConnectRetry,
            self.cfg.connect_retry,
        ));
        if self.cfg.passive {
            self.state = State::Active;
        } else {
            out.push(Action::Connect);
            self.state = State::Connect;
        }
    }

    fn send(&mut self, out: &mut Vec<Action>, m: &Message) {
        let asn4 = self.negotiated.as_ref().is_none_or(|n| n.asn4);
        match codec::encode(m, asn4) {
            Ok(b) => out.push(Action::Send(b)),
            Err(e) => tracing::error!(error = %e, "cannot encode {m:?}"),
        }
    }

    /// Leaves the session: optional NOTIFICATION, close, Idle with an idle-hold restart.
    fn fail(
        &mut self,
        out: &mut Vec<Action>,
        text: &str,
        sent: Option<Notification>,
        received: Option<Notification>,
        may_be_graceful: bool,
    ) {
        if self.state == State::Idle {
            return;
        }
        let was_up = self.state == State::Established;
        if let Some(n) = &sent
            && matches!(
                self.state,
                State::OpenSent | State::OpenConfirm | State::Established
            )
        {
            self.send(out, &Message::Notification(n.clone()));
        }
        out.push(Action::CloseConnection);
        out.push(Action::StopTimer(Timer::Hold));
        out.push(Action::StopTimer(Timer::Keepalive));
        // RFC 4724: GR applies when the session drops without a NOTIFICATION; RFC 8538 extends
        // it to NOTIFICATIONs when both sides set the N bit, except Cease/Hard Reset.
        let graceful = was_up
            && may_be_graceful
            && self.negotiated.as_ref().is_some_and(|n| {
                n.peer_graceful_restart.is_some()
                    && (sent.is_none() && received.is_none()
                        || n.graceful_notification
                            && ![sent.as_ref(), received.as_ref()]
                                .into_iter()
                                .flatten()
                                .any(|x| x.code == codes::CEASE && x.subcode == 9))
            });
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            out.push(Action::Down(DownReason {
                text: text.to_string(),
                sent,
                received,
                graceful,
            }));
        }
        self.state = State::Idle;
        self.negotiated = None;
        self.buf.clear();
        if !self.stopped {
            out.push(Action::StartTimer(
                Timer::ConnectRetry,
                self.cfg.connect_retry,
            ));
        }
    }

    fn data(&mut self, out: &mut Vec<Action>, bytes: Vec<u8>) {
        if matches!(self.state, State::Idle | State::Connect | State::Active) {
            return;
        }
        self.buf.extend_from_slice(&bytes);
        // Bounded: each turn consumes one whole message or stops. Consumed bytes are removed
        // once at the end (not per message: that would copy the buffer for every message).
        let mut at = 0;
        loop {
            let len = match codec::frame(&self.buf[at..]) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    self.fail(out, &e.reason, Some(e.notification), None, false);
                    return;
                }
            };
            let decoded = codec::decode(&self.buf[at..at + len], &self.ctx);
            at += len;
            match decoded {
                Ok(m) => self.message(out, m),
                Err(e) => {
                    self.fail(out, &e.reason, Some(e.notification), None, false);
                    return;
                }
            }
            if self.state == State::Idle {
                return;
            }
        }
        self.buf.drain(..at);
    }

    fn message(&mut self, out: &mut Vec<Action>, m: Message) {
        let unexpected = |state: State| {
            let sub = match state {
                State::OpenSent => codes::FSM_OPEN_SENT,
                State::OpenConfirm => codes::FSM_OPEN_CONFIRM,
                _ => codes::FSM_ESTABLISHED,
            };
            Notification::new(codes::FSM, sub, [])
        };
        match (self.state, m) {
            (_, Message::Notification(n)) => {
                let text = format!("peer sent NOTIFICATION {n}");
                self.fail(out, &text, None, Some(n), true);
            }
            (State::OpenSent, Message::Open(o)) => match negotiate::check_open(&self.cfg, &o) {
                Ok(n) => {
                    self.ctx = CodecContext {
                        asn4: n.asn4,
                        ..Default::default()
                    };
                    self.send(out, &Message::Keepalive);
                    if n.hold_time > 0 {
                        out.push(Action::StartTimer(Timer::Hold, n.hold_time));
                        out.push(Action::StartTimer(Timer::Keepalive, n.keepalive));
                    } else {
                        out.push(Action::StopTimer(Timer::Hold));
                    }
                    self.negotiated = Some(n);
                    self.state = State::OpenConfirm;
                }
                Err(e) => self.fail(out, &e.reason, Some(e.notification), None, false),
            },
            (State::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(out);
                self.state = State::Established;
                if let Some(n) = &self.negotiated {
                    out.push(Action::Established(Box::new(n.clone())));
                }
            }
            (State::Established, Message::Keepalive) => self.restart_hold(out),
            (State::Established, Message::Update(u)) => {
                self.restart_hold(out);
                if let Some(u) = negotiate::check_update(self.negotiated.as_ref(), u) {
                    out.push(Action::Received(Box::new(u)));
                }
            }
            (State::Established, Message::RouteRefresh(r)) => {
                self.restart_hold(out);
                // Subtypes 1/2 (BoRR/EoRR, RFC 7313) need no action from a receiver here.
                if let Some(f) = r.family()
                    && r.subtype == 0
                    && self
                        .negotiated
                        .as_ref()
                        .is_some_and(|n| n.families.contains(&f))
                {
                    out.push(Action::RouteRefreshRequested(f));
                }
            }
            (state, other) => {
                let text = format!("unexpected {} in {state:?}", kind(&other));
                self.fail(out, &text, Some(unexpected(state)), None, false);
            }
        }
    }

    fn restart_hold(&self, out: &mut Vec<Action>) {
        if let Some(n) = &self.negotiated
            && n.hold_time > 0
        {
            out.push(Action::StartTimer(Timer::Hold, n.hold_time));
        }
    }
}

fn kind(m: &Message) -> &'static str {
    match m {
        Message::Open(_) => "OPEN",
        Message::Update(_) => "UPDATE",
        Message::Notification(_) => "NOTIFICATION",
        Message::Keepalive => "KEEPALIVE",
        Message::RouteRefresh(_) => "ROUTE-REFRESH",
    }
}
