//! Keystone v3 token validation for `--auth keystone=URL`.
//!
//! A client's `X-Auth-Token` is validated with `GET /v3/auth/tokens` (`X-Subject-Token`),
//! authenticated by a service token that Cirrus obtains with the service credentials of a file
//! (see [`ServiceCredentials`]). Valid tokens are cached until the token's `expires_at`, and at
//! most [`RECHECK`] (keystonemiddleware's `token_cache_time`), so that a revoked token stops
//! working within that time; the cache holds at most [`CACHE_MAX`] tokens.
//!
//! The endpoint is `http://` or `https://`; over https, Keystone's certificate is checked against
//! the CA file given as `cafile=PATH` (default: the system's bundle,
//! `/etc/ssl/certs/ca-certificates.crt`) and the host name of the URL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, Uri};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::error::ApiError;

/// How long a validated token is trusted before Keystone is asked again.
pub const RECHECK: Duration = Duration::from_secs(300);
/// The most tokens the cache holds.
pub const CACHE_MAX: usize = 10_000;
/// How long one request to Keystone may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The role that makes a token's holder the cloud admin (Contrail's `cloud_admin_role`).
pub const ADMIN_ROLE: &str = "admin";

/// The service account Cirrus validates tokens with: a file of `key = value` lines, as in an
/// OpenStack service's `[keystone_authtoken]` section (section headers and `#` comments are
/// ignored): `username`, `password`, `project_name`, and optionally `user_domain_name` and
/// `project_domain_name` (both `Default` unless given).
#[derive(Clone)]
pub struct ServiceCredentials {
    pub username: String,
    pub password: String,
    pub project_name: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
}

impl ServiceCredentials {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--auth keystone credentials file {}: {e}", path.display()))?;
        let mut kv = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!(
                    "{}:{}: expected `key = value`, got {line:?}",
                    path.display(),
                    n + 1
                ));
            };
            kv.insert(k.trim().to_string(), v.trim().to_string());
        }
        let mut take = |k: &str, default: Option<&str>| {
            kv.remove(k)
                .or(default.map(str::to_string))
                .ok_or_else(|| format!("{}: `{k}` is missing", path.display()))
        };
        let creds = ServiceCredentials {
            username: take("username", None)?,
            password: take("password", None)?,
            project_name: take("project_name", None)?,
            user_domain_name: take("user_domain_name", Some("Default"))?,
            project_domain_name: take("project_domain_name", Some("Default"))?,
        };
        if let Some(k) = kv.keys().next() {
            return Err(format!("{}: unknown key `{k}`", path.display()));
        }
        Ok(creds)
    }
}

/// What Keystone says about a valid token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    /// The scoped project: (Keystone id, name). None for a domain- or system-scoped token.
    pub project: Option<(String, String)>,
    /// The scoped project's domain: (Keystone id, name).
    pub project_domain: Option<(String, String)>,
    /// The user's name.
    pub user: Option<String>,
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

impl TokenInfo {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == ADMIN_ROLE)
    }

    /// Reads the `token` of a `GET /v3/auth/tokens` answer.
    pub fn from_body(body: &Value) -> Result<Self, String> {
        let token = body.get("token").ok_or("no `token` in the answer")?;
        let expires = token
            .get("expires_at")
            .and_then(Value::as_str)
            .ok_or("no `token.expires_at` in the answer")?;
        let expires_at = DateTime::parse_from_rfc3339(expires)
            .map_err(|e| format!("token.expires_at {expires:?}: {e}"))?
            .with_timezone(&Utc);
        let project = token.get("project").and_then(|p| {
            Some((
                p.get("id")?.as_str()?.to_string(),
                p.get("name")?.as_str()?.to_string(),
            ))
        });
        let roles = token
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        let project_domain = token
            .get("project")
            .and_then(|p| p.get("domain"))
            .and_then(|d| {
                Some((
                    d.get("id")?.as_str()?.to_string(),
                    d.get("name")?.as_str()?.to_string(),
                ))
            });
        let user = token
            .get("user")
            .and_then(|u| u.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(TokenInfo {
            project,
            project_domain,
            user,
            roles,
            expires_at,
        })
    }
}

/// Why a token could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    #[error("Authentication failed: Keystone does not accept this token (invalid or expired)")]
    InvalidToken,
    #[error("Keystone at {url} is unreachable: {why}")]
    Unreachable { url: String, why: String },
    #[error("Keystone at {url} refused Cirrus's service credentials ({status})")]
    ServiceRejected { url: String, status: StatusCode },
    #[error("Keystone at {url} answered {status} unexpectedly: {body}")]
    Unexpected {
        url: String,
        status: StatusCode,
        body: String,
    },
}

impl From<KeystoneError> for ApiError {
    fn from(e: KeystoneError) -> Self {
        match e {
            KeystoneError::InvalidToken => ApiError::unauthorized(e.to_string()),
            _ => ApiError::unavailable(e.to_string()),
        }
    }
}

struct Cached {
    info: TokenInfo,
    /// When this entry must be checked with Keystone again.
    until: DateTime<Utc>,
}

/// The system's CA bundle (Debian's `ca-certificates`), used for https without `cafile=`.
pub const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A Keystone v3 endpoint, the service credentials, the service token and the token cache.
pub struct Keystone {
    /// `http://host:port` plus any path prefix, without a trailing `/` or `/v3`.
    base: String,
    authority: String,
    /// For https: the TLS client and the name the certificate must carry.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    /// The path prefix of `base` (empty for a Keystone at the root).
    prefix: String,
    creds: ServiceCredentials,
    service_token: tokio::sync::Mutex<Option<(String, DateTime<Utc>)>>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone")
            .field("url", &self.base)
            .field("service_user", &self.creds.username)
            .finish_non_exhaustive()
    }
}

type Answer = (StatusCode, axum::http::HeaderMap, Bytes);

impl Keystone {
    /// The endpoint at `url` (http:// or https://); `cafile` is the CA bundle that signs an
    /// https endpoint's certificate (default [`SYSTEM_CAS`]).
    pub fn new(
        url: &str,
        creds: ServiceCredentials,
        cafile: Option<&Path>,
    ) -> Result<Self, String> {
        let trimmed = url.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v3").unwrap_or(trimmed);
        let uri: Uri = trimmed
            .parse()
            .map_err(|e| format!("--auth keystone={url}: {e}"))?;
        let (https, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            _ => {
                return Err(format!(
                    "--auth keystone={url}: expected an http:// or https:// URL"
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("--auth keystone={url}: no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let authority = format!("{host}:{}", uri.port_u16().unwrap_or(default_port));
        let tls = if https {
            let cafile = cafile.unwrap_or(Path::new(SYSTEM_CAS));
            let name = ServerName::try_from(host.clone())
                .map_err(|e| format!("--auth keystone={url}: host {host:?}: {e}"))?;
            Some((
                tls_connector(cafile).map_err(|e| format!("--auth keystone={url}: {e}"))?,
                name,
            ))
        } else {
            if cafile.is_some() {
                return Err(format!(
                    "--auth keystone={url}: cafile= is for https:// endpoints"
                ));
            }
            None
        };
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Keystone {
            base: trimmed.to_string(),
            authority,
            tls,
            prefix,
            creds,
            service_token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The cached answer for `token`, if it is still to be trusted.
    pub fn cached(&self, token: &str) -> Option<TokenInfo> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(token)
            .filter(|c| c.until > Utc::now())
            .map(|c| c.info.clone())
    }

    pub fn cache_len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn remember(&self, token: &str, info: &TokenInfo) {
        let now = Utc::now();
        let recheck = now + chrono::Duration::from_std(RECHECK).unwrap_or_default();
        let until = info.expires_at.min(recheck);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, c| c.until > now);
        }
        if cache.len() >= CACHE_MAX {
            // Still full of live tokens: drop the one due soonest.
            if let Some(k) = cache
                .iter()
                .min_by_key(|(_, c)| c.until)
                .map(|(k, _)| k.clone())
            {
                cache.remove(&k);
            }
        }
        cache.insert(
            token.to_string(),
            Cached {
                info: info.clone(),
                until,
            },
        );
    }

    /// Validates `token`: from the cache, else by asking Keystone.
    pub async fn validate(&self, token: &str) -> Result<TokenInfo, KeystoneError> {
        if let Some(info) = self.cached(token) {
            return Ok(info);
        }
        let mut retried = false;
        loop {
            let service = self.service_token(retried).await?;
            let (status, _, body) = self
                .send(
                    Method::GET,
                    "/v3/auth/tokens",
                    &[("x-auth-token", &service), ("x-subject-token", token)],
                    None,
                )
                .await?;
            match status {
                StatusCode::OK => {
                    let info = serde_json::from_slice::<Value>(&body)
                        .map_err(|e| e.to_string())
                        .and_then(|v| TokenInfo::from_body(&v))
                        .map_err(|why| self.unexpected(status, why))?;
                    if info.expires_at <= Utc::now() {
                        return Err(KeystoneError::InvalidToken);
                    }
                    self.remember(token, &info);
                    return Ok(info);
                }
                StatusCode::NOT_FOUND => return Err(KeystoneError::InvalidToken),
                // Our service token expired or was revoked: get a new one once.
                StatusCode::UNAUTHORIZED if !retried => retried = true,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(KeystoneError::ServiceRejected {
                        url: self.base.clone(),
                        status,
                    });
                }
                _ => {
                    let text = String::from_utf8_lossy(&body).into_owned();
                    return Err(self.unexpected(status, text));
                }
            }
        }
    }

    fn unexpected(&self, status: StatusCode, body: String) -> KeystoneError {
        KeystoneError::Unexpected {
            url: self.base.clone(),
            status,
            body,
        }
    }

    /// The service token, obtained again when `renew` or when it is about to expire.
    async fn service_token(&self, renew: bool) -> Result<String, KeystoneError> {
        let mut held = self.service_token.lock().await;
        if let Some((token, expires)) = held.as_ref()
            && !renew
            && *expires > Utc::now() + chrono::Duration::seconds(60)
        {
            return Ok(token.clone());
        }
        let c = &self.creds;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username,
                "domain": {"name": c.user_domain_name},
                "password": c.password,
            }}},
            "scope": {"project": {"name": c.project_name, "domain": {"name": c.project_domain_name}}},
        }});
        let (status, headers, answer) = self
            .send(
                Method::POST,
                "/v3/auth/tokens",
                &[("content-type", "application/json")],
                Some(body.to_string().into_bytes()),
            )
            .await?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(KeystoneError::ServiceRejected {
                url: self.base.clone(),
                status,
            });
        }
        if status != StatusCode::CREATED && status != StatusCode::OK {
            return Err(self.unexpected(status, String::from_utf8_lossy(&answer).into_owned()));
        }
        let token = headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.unexpected(status, "no X-Subject-Token header".into()))?
            .to_string();
        let info = serde_json::from_slice::<Value>(&answer)
            .map_err(|e| e.to_string())
            .and_then(|v| TokenInfo::from_body(&v))
            .map_err(|why| self.unexpected(status, why))?;
        *held = Some((token.clone(), info.expires_at));
        Ok(token)
    }

    /// One HTTP/1.1 request to Keystone on a fresh connection.
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, KeystoneError> {
        let unreachable = |why: String| KeystoneError::Unreachable {
            url: self.base.clone(),
            why,
        };
        let exchange = async {
            let mut req = Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.prefix))
                .header("host", &self.authority)
                .header("accept", "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| e.to_string())?;
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| e.to_string())?;
            match &self.tls {
                None => exchange(stream, req).await,
                Some((connector, name)) => {
                    let stream = connector
                        .connect(name.clone(), stream)
                        .await
                        .map_err(|e| format!("TLS: {e}"))?;
                    exchange(stream, req).await
                }
            }
        };
        match tokio::time::timeout(TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(why)) => Err(unreachable(why)),
            Err(_) => Err(unreachable(format!("no answer in {}s", TIMEOUT.as_secs()))),
        }
    }
}

/// One request and its whole answer on a fresh HTTP/1.1 connection over `stream`.
async fn exchange<S>(stream: S, req: Request<Full<Bytes>>) -> Result<Answer, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

/// A TLS client trusting the certificates of the PEM bundle `cafile`.
fn tls_connector(cafile: &Path) -> Result<tokio_rustls::TlsConnector, String> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(cafile)
        .map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("cafile {}: {e}", cafile.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("cafile {}: no certificate in it", cafile.display()));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

/// Keystone's project id as Contrail writes it in the VNC model: a dashed uuid (Keystone's ids
/// are dashless hex), or the id unchanged if it is not a uuid.
pub fn vnc_project_uuid(keystone_id: &str) -> String {
    uuid::Uuid::parse_str(keystone_id)
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_else(|_| keystone_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_validation_answer() {
        let body = json!({"token": {
            "expires_at": "2030-01-02T03:04:05.000000Z",
            "project": {"id": "0123456789abcdef0123456789abcdef", "name": "demo",
                        "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r1", "name": "member"}, {"id": "r2", "name": "reader"}],
        }});
        let info = TokenInfo::from_body(&body).unwrap();
        assert_eq!(
            info.project,
            Some(("0123456789abcdef0123456789abcdef".into(), "demo".into()))
        );
        assert!(!info.is_admin());
        assert_eq!(info.expires_at.to_rfc3339(), "2030-01-02T03:04:05+00:00");
        assert_eq!(
            vnc_project_uuid("0123456789abcdef0123456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
    }

    #[test]
    fn the_cache_is_bounded_and_honours_expiry() {
        let ks = Keystone::new(
            "http://127.0.0.1:1/v3/",
            ServiceCredentials {
                username: "u".into(),
                password: "p".into(),
                project_name: "service".into(),
                user_domain_name: "Default".into(),
                project_domain_name: "Default".into(),
            },
            None,
        )
        .unwrap();
        assert_eq!(ks.url(), "http://127.0.0.1:1");
        let live = TokenInfo {
            project: None,
            project_domain: None,
            user: None,
            roles: vec!["admin".into()],
            expires_at: Utc::now() + chrono::Duration::hours(1),
        };
        let expired = TokenInfo {
            expires_at: Utc::now() - chrono::Duration::seconds(1),
            ..live.clone()
        };
        ks.remember("old", &expired);
        assert!(ks.cached("old").is_none());
        for i in 0..CACHE_MAX + 10 {
            ks.remember(&format!("t{i}"), &live);
        }
        assert_eq!(ks.cache_len(), CACHE_MAX);
        assert!(ks.cached(&format!("t{}", CACHE_MAX + 9)).is_some());
    }

    #[test]
    fn endpoints_are_http_or_https_with_a_ca() {
        let creds = || ServiceCredentials {
            username: "u".into(),
            password: "p".into(),
            project_name: "service".into(),
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
        };
        let err = Keystone::new("ftp://k:1", creds(), None).unwrap_err();
        assert!(err.contains("http:// or https://"), "{err}");
        let err = Keystone::new("http://k:1", creds(), Some(Path::new("/x"))).unwrap_err();
        assert!(err.contains("cafile= is for https://"), "{err}");
        let err =
            Keystone::new("https://k:1", creds(), Some(Path::new("/nonexistent.pem"))).unwrap_err();
        assert!(err.contains("cafile /nonexistent.pem"), "{err}");
        let ks = Keystone::new("https://keystone.example", creds(), None);
        if Path::new(SYSTEM_CAS).exists() {
            assert_eq!(ks.unwrap().authority, "keystone.example:443");
        }
    }

    #[tokio::test]
    async fn an_unreachable_keystone_is_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let creds = ServiceCredentials {
            username: "u".into(),
            password: "p".into(),
            project_name: "service".into(),
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
        };
        let ks = Keystone::new(&format!("http://127.0.0.1:{port}"), creds, None).unwrap();
        let err = ks.validate("tok").await.unwrap_err();
        assert!(matches!(err, KeystoneError::Unreachable { .. }), "{err:?}");
        let api: ApiError = err.into();
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(api.message.contains("Keystone at http://127.0.0.1:"));
    }
}
