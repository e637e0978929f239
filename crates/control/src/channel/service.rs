//! The gRPC service `cirrus.channel.v1.Control/Session`, written by hand rather than taken
//! from the generated server so that its outbound side carries messages already encoded: a
//! route update built once for an instance is encoded once and the same bytes go to every
//! vrouter subscribed to it (the generated server would need one owned copy of the message
//! per vrouter, and would encode each). The wire protocol is the generated one's exactly.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use cirrus_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstDecoder;

use super::hub::HubHandle;

/// What a session's outbound stream carries: an encoded `ControllerMessage`, or the status
/// that ends the stream.
pub type Outbound = Result<Bytes, Status>;
pub type OutboundTx = mpsc::UnboundedSender<Outbound>;

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
    type ResponseStream = UnboundedReceiverStream<Outbound>;
    type Future = std::future::Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, req: Request<Streaming<pb::AgentMessage>>) -> Self::Future {
        let bearer = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::bearer)
            .map(str::to_string);
        let peer = req.remote_addr();
        let (tx, rx) = mpsc::unbounded_channel();
        super::conn::spawn(self.0.clone(), req.into_inner(), tx, bearer, peer);
        std::future::ready(Ok(Response::new(UnboundedReceiverStream::new(rx))))
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
