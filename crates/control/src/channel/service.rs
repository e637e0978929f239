//! The gRPC service `cirrus.channel.v1.Control/Session`, written by hand rather than taken
//! from the generated server so that its outbound side carries messages already encoded: a
//! route update built once for an instance is encoded once and the same bytes go to every
//! vrouter subscribed to it (the generated server would need one owned copy of the message
//! per vrouter, and would encode each). The wire protocol is the generated one's exactly.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use cirrus_proto::v1 as pb;
use tokio::sync::mpsc;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstDecoder;

use super::hub::HubHandle;

/// What a session's outbound stream carries: an encoded `ControllerMessage`, or the status
/// that ends the stream.
pub type Outbound = Result<Bytes, Status>;

/// The sending end of a session's outbound stream, counting the octets queued and not yet
/// taken by the transport (a vrouter that stops reading is cut off before it costs the
/// controller unbounded memory; see the hub).
#[derive(Clone, Debug)]
pub struct OutboundTx {
    tx: mpsc::UnboundedSender<Outbound>,
    queued: Arc<AtomicUsize>,
}

impl OutboundTx {
    /// Queues a message; false when the stream is gone.
    pub fn send(&self, m: Outbound) -> bool {
        let n = m.as_ref().map_or(0, Bytes::len);
        self.queued.fetch_add(n, Ordering::Relaxed);
        let ok = self.tx.send(m).is_ok();
        if !ok {
            self.queued.fetch_sub(n, Ordering::Relaxed);
        }
        ok
    }

    /// Octets queued and not yet taken by the transport.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// The receiving end, as the transport polls it.
pub struct OutboundStream {
    rx: mpsc::UnboundedReceiver<Outbound>,
    queued: Arc<AtomicUsize>,
}

impl tokio_stream::Stream for OutboundStream {
    type Item = Outbound;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outbound>> {
        let r = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(Ok(b))) = &r {
            self.queued.fetch_sub(b.len(), Ordering::Relaxed);
        }
        r
    }
}

/// A session's outbound stream.
pub fn outbound() -> (OutboundTx, OutboundStream) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        OutboundTx {
            tx,
            queued: queued.clone(),
        },
        OutboundStream { rx, queued },
    )
}

/// Encodes a controller message once.
pub fn encode(m: pb::controller_message::Msg) -> Bytes {
    use prost::Message;
    Bytes::from(pb::ControllerMessage { msg: Some(m) }.encode_to_vec())
}

/// Outbound: pre-encoded bytes copied as they are; inbound: prost.
#[derive(Debug, Clone, Default)]
pub struct ChannelCodec;

#[derive(Debug, Clone, Default)]
pub struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Codec for ChannelCodec {
    type Encode = Bytes;
    type Decode = pb::AgentMessage;
    type Encoder = RawEncoder;
    type Decoder = ProstDecoder<pb::AgentMessage>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::default()
    }
}

/// The tower service tonic's router serves.
#[derive(Clone)]
pub struct ControlService {
    hub: Arc<HubHandle>,
}

impl ControlService {
    pub fn new(hub: Arc<HubHandle>) -> ControlService {
        ControlService { hub }
    }
}

impl NamedService for ControlService {
    const NAME: &'static str = "cirrus.channel.v1.Control";
}

struct SessionSvc(Arc<HubHandle>);

impl StreamingService<pb::AgentMessage> for SessionSvc {
    type Response = Bytes;
    type ResponseStream = OutboundStream;
    type Future = std::future::Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, req: Request<Streaming<pb::AgentMessage>>) -> Self::Future {
        let bearer = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::bearer)
            .map(str::to_string);
        let peer = req.remote_addr();
        let (tx, rx) = outbound();
        super::conn::spawn(self.0.clone(), req.into_inner(), tx, bearer, peer);
        std::future::ready(Ok(Response::new(rx)))
    }
}

impl<B> tower_service::Service<http::Request<B>> for ControlService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let hub = self.hub.clone();
        if req.uri().path() == "/cirrus.channel.v1.Control/Session" {
            Box::pin(async move {
                let mut grpc = Grpc::new(ChannelCodec);
                Ok(grpc.streaming(SessionSvc(hub), req).await)
            })
        } else {
            Box::pin(async move {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(
                    tonic::Status::GRPC_STATUS,
                    (tonic::Code::Unimplemented as i32).into(),
                );
                headers.insert(
                    http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                Ok(response)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn queued_octets_count_what_the_transport_has_not_taken() {
        let (tx, mut rx) = outbound();
        assert!(tx.send(Ok(Bytes::from_static(b"abc"))));
        assert!(tx.send(Ok(Bytes::from_static(b"defgh"))));
        assert!(tx.send(Err(Status::aborted("x"))));
        assert_eq!(tx.queued(), 8);
        assert_eq!(
            rx.next().await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert_eq!(tx.queued(), 5);
        rx.next().await;
        assert_eq!(tx.queued(), 0);
        drop(rx);
        assert!(!tx.send(Ok(Bytes::from_static(b"lost"))));
        assert_eq!(tx.queued(), 0);
    }
}
