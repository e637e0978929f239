//! The few HTTP calls a lab makes (readiness probes, the controller's introspect, a vrouter's
//! port IPC), over a blocking client with short timeouts, and the bounded wait loop the lab
//! uses for everything it waits on.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{LabError, Result};

/// An answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(timeout))
        .timeout_global(Some(timeout))
        .user_agent(concat!("cirrus-lab/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::new_with_config(config)
}

/// One request; a body, when given, is sent as JSON. Transport failures are errors; any status
/// is an answer.
pub fn call(
    method: &'static str,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Answer> {
    let agent = agent(timeout);
    let result = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("POST", Some(b)) => agent.post(url).send_json(b),
        ("POST", None) => agent.post(url).send_empty(),
        ("PUT", Some(b)) => agent.put(url).send_json(b),
        ("PUT", None) => agent.put(url).send_empty(),
        (other, _) => unreachable!("the lab never sends {other}"),
    };
    let mut response = result.map_err(|e| LabError::Http {
        method,
        url: url.to_string(),
        detail: e.to_string(),
    })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| LabError::Http {
            method,
            url: url.to_string(),
            detail: format!("reading the answer: {e}"),
        })?;
    Ok(Answer { status, body })
}

/// GET `url` and parse a 2xx JSON answer.
pub fn get_json(url: &str, timeout: Duration) -> Result<Value> {
    let answer = call("GET", url, None, timeout)?;
    if !answer.ok() {
        return Err(LabError::Http {
            method: "GET",
            url: url.to_string(),
            detail: format!("{} {}", answer.status, answer.body.trim()),
        });
    }
    answer.json().ok_or_else(|| LabError::Http {
        method: "GET",
        url: url.to_string(),
        detail: "the answer is not JSON".into(),
    })
}

/// Calls `probe` every `interval` until it returns `Some` (or an error), at most until
/// `timeout`; `what` names the wait in the timeout error.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe()? {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(LabError::Timeout {
                what: what.to_string(),
                seconds: start.elapsed().as_secs_f64(),
            });
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded_and_say_what_they_waited_for() {
        let mut n = 0;
        let got = wait_for(
            "three tries",
            Duration::from_secs(5),
            Duration::ZERO,
            || {
                n += 1;
                Ok((n == 3).then_some(n))
            },
        )
        .unwrap();
        assert_eq!(got, 3);
        let err = wait_for::<()>(
            "nothing",
            Duration::from_millis(30),
            Duration::from_millis(10),
            || Ok(None),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("timed out after"), "{err}");
        assert!(err.to_string().ends_with("waiting for nothing"), "{err}");
    }

    #[test]
    fn a_closed_port_is_a_transport_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let err = call("GET", &url, None, Duration::from_secs(1)).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("GET {url}: ")),
            "{err}"
        );
    }
}
