//! Query times as opserver reads them: microseconds since the epoch (a number or a string
//! of digits), `now`, or `now` plus or minus an amount with a unit (`s`, `m`, `h`, `d`),
//! e.g. `now-10m`.

/// Parses `v` against `now_us`; `Err` says what was expected.
pub fn parse_time(v: &serde_json::Value, now_us: i64) -> Result<i64, String> {
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| format!("{n} is not a time in microseconds")),
        serde_json::Value::String(s) => parse_str(s.trim(), now_us),
        other => Err(format!(
            "expected microseconds or `now[-+]<n><s|m|h|d>`, got {other}"
        )),
    }
}

fn parse_str(s: &str, now_us: i64) -> Result<i64, String> {
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    let bad = || format!("{s:?}: expected microseconds or `now[-+]<n><s|m|h|d>`");
    let Some(rest) = s.strip_prefix("now") else {
        return Err(bad());
    };
    if rest.is_empty() {
        return Ok(now_us);
    }
    let (sign, rest) = match rest.as_bytes()[0] {
        b'-' => (-1, &rest[1..]),
        b'+' => (1, &rest[1..]),
        _ => return Err(bad()),
    };
    let unit_at = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = rest.split_at(unit_at);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let scale: i64 = match unit {
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return Err(bad()),
    };
    Ok(now_us + sign * n.checked_mul(scale).ok_or_else(bad)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_and_absolute_times() {
        let now = 10_000_000_000;
        assert_eq!(parse_time(&json!("now"), now), Ok(now));
        assert_eq!(parse_time(&json!("now-10m"), now), Ok(now - 600_000_000));
        assert_eq!(parse_time(&json!("now+1h"), now), Ok(now + 3_600_000_000));
        assert_eq!(parse_time(&json!(1234), now), Ok(1234));
        assert_eq!(parse_time(&json!("1234"), now), Ok(1234));
        assert!(parse_time(&json!("now-10x"), now).is_err());
        assert!(parse_time(&json!("yesterday"), now).is_err());
        assert!(parse_time(&json!(null), now).is_err());
    }
}
