//! `AWSDateTime` and `AWSJSON`, as AppSync (and so Panther's API) defines them.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Extended ISO 8601: `YYYY-MM-DDThh:mm[:ss[.f{1,9}]](Z|±hh:mm[:ss])`. Output is RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AWSDateTime(pub DateTime<Utc>);

impl AWSDateTime {
    pub fn from_ms(ms: i64) -> Self {
        AWSDateTime(crate::domain::time::from_ms(ms))
    }
    pub fn ms(&self) -> i64 {
        self.0.timestamp_millis()
    }
}

#[Scalar(name = "AWSDateTime")]
impl ScalarType for AWSDateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => parse_aws_datetime(&s)
                .map(AWSDateTime)
                .map_err(|e| InputValueError::custom(format!("invalid AWSDateTime {s:?}: {e}"))),
            other => Err(InputValueError::custom(format!(
                "invalid AWSDateTime {other}: expected a string such as \"2024-01-31T12:00:00Z\""
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize, what: &str) -> Result<u32, String> {
        let end = self.pos + n;
        let part = self
            .s
            .get(self.pos..end)
            .filter(|p| p.iter().all(u8::is_ascii_digit));
        let part = part.ok_or_else(|| {
            format!(
                "expected {n} digits for the {what} at position {}",
                self.pos + 1
            )
        })?;
        self.pos = end;
        Ok(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }
    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected '{}' {what} at position {}",
                c as char,
                self.pos + 1
            ))
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
}

/// Parse the AWSDateTime grammar; the error says what is wrong and where.
pub fn parse_aws_datetime(input: &str) -> Result<DateTime<Utc>, String> {
    let mut c = Cursor {
        s: input.as_bytes(),
        pos: 0,
    };
    let year = c.digits(4, "year")?;
    c.expect(b'-', "after the year")?;
    let month = c.digits(2, "month")?;
    c.expect(b'-', "after the month")?;
    let day = c.digits(2, "day")?;
    c.expect(b'T', "between date and time")?;
    let hour = c.digits(2, "hour")?;
    c.expect(b':', "after the hour")?;
    let minute = c.digits(2, "minute")?;
    let (mut second, mut nanos) = (0, 0);
    if c.peek() == Some(b':') {
        c.pos += 1;
        second = c.digits(2, "second")?;
        if c.peek() == Some(b'.') {
            c.pos += 1;
            let start = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
            }
            let count = c.pos - start;
            if count == 0 {
                return Err("expected 1 to 9 fraction digits after '.'".into());
            }
            if count > 9 {
                return Err(format!(
                    "the fraction has {count} digits; at most 9 are allowed"
                ));
            }
            let frac: u32 = input[start..c.pos].parse().map_err(|_| "bad fraction")?;
            nanos = frac * 10u32.pow(9 - count as u32);
        }
    }
    let offset_seconds: i32 = match c.peek() {
        Some(b'Z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2, "offset hours")?;
            c.expect(b':', "in the offset")?;
            let om = c.digits(2, "offset minutes")?;
            let mut os = 0;
            if c.peek() == Some(b':') {
                c.pos += 1;
                os = c.digits(2, "offset seconds")?;
            }
            if oh > 23 || om > 59 || os > 59 {
                return Err("the time-zone offset is out of range".into());
            }
            let total = (oh * 3600 + om * 60 + os) as i32;
            if sign == b'-' {
                -total
            } else {
                total
            }
        }
        None => return Err("a time-zone offset (Z or ±hh:mm) is required".into()),
        Some(_) => {
            return Err(format!(
                "expected a time-zone offset (Z or ±hh:mm) at position {}",
                c.pos + 1
            ))
        }
    };
    if c.pos != input.len() {
        return Err(format!(
            "unexpected text after the offset at position {}",
            c.pos + 1
        ));
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("{year:04}-{month:02}-{day:02} is not a calendar date"))?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "{hour:02}:{minute:02}:{second:02} is not a valid time of day"
        ));
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or("invalid time")?;
    let offset =
        FixedOffset::east_opt(offset_seconds).ok_or("the time-zone offset is out of range")?;
    let instant = offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or("not a representable instant")?;
    // An offset can move the instant out of 0000–9999, where the output form (and so
    // this parser) cannot express it.
    if !(0..=9999).contains(&instant.year()) {
        return Err("the instant is outside the years 0000 to 9999 in UTC".into());
    }
    Ok(instant)
}

/// Free-form JSON. Input: an object (or a string holding JSON, as AppSync sends it).
#[derive(Debug, Clone, PartialEq)]
pub struct AWSJSON(pub serde_json::Value);

#[Scalar(name = "AWSJSON")]
impl ScalarType for AWSJSON {
    fn parse(value: Value) -> InputValueResult<Self> {
        let json = match value {
            Value::String(s) => serde_json::from_str(&s)
                .map_err(|e| InputValueError::custom(format!("invalid AWSJSON: {e}")))?,
            other => other
                .into_json()
                .map_err(|e| InputValueError::custom(format!("invalid AWSJSON: {e}")))?,
        };
        Ok(AWSJSON(json))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        parse_aws_datetime(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(ok("2024-02-29T12:34:56.789Z"), "2024-02-29T12:34:56.789Z");
        assert_eq!(ok("2024-02-29T12:34Z"), "2024-02-29T12:34:00Z");
        assert_eq!(ok("2024-02-29T12:34:56Z"), "2024-02-29T12:34:56Z");
        assert_eq!(ok("2024-02-29T12:34:56.1Z"), "2024-02-29T12:34:56.100Z");
        assert_eq!(
            ok("2024-02-29T12:34:56.123456789Z"),
            "2024-02-29T12:34:56.123456789Z"
        );
        assert_eq!(ok("2024-01-01T01:00:00+01:00"), "2024-01-01T00:00:00Z");
        assert_eq!(ok("2024-01-01T00:00-05:30"), "2024-01-01T05:30:00Z");
        assert_eq!(ok("2024-01-01T00:00:00+01:00:30"), "2023-12-31T22:59:30Z");
    }

    #[test]
    fn rejects_with_a_reason() {
        for (input, needle) in [
            ("2024-01-01T00:00:00", "offset"),
            ("2024-01-01 00:00:00Z", "between date and time"),
            ("2024-01-01T00:00:00.Z", "fraction"),
            ("2024-01-01T00:00:00.1234567890Z", "at most 9"),
            ("2024-13-01T00:00Z", "calendar date"),
            ("2023-02-29T00:00Z", "calendar date"),
            ("2024-01-01T24:00Z", "time of day"),
            ("2024-01-01T00:60Z", "time of day"),
            ("2024-01-01T00:00:60Z", "time of day"),
            ("2024-01-01T00:00+24:00", "offset is out of range"),
            ("0000-01-01T00:00+01:00", "outside the years"),
            ("9999-12-31T23:59-00:01", "outside the years"),
            ("2024-01-01T00:00+0100", "in the offset"),
            ("2024-01-01T00:00Zjunk", "after the offset"),
            ("24-01-01T00:00Z", "year"),
            ("2024-01-01T00:00.5Z", "offset"),
            ("2024-01-01t00:00Z", "between date and time"),
            ("2024-01-01T00:00z", "offset"),
            ("", "year"),
        ] {
            let err = parse_aws_datetime(input).expect_err(input);
            assert!(
                err.contains(needle),
                "{input:?}: {err:?} should mention {needle:?}"
            );
        }
    }

    fn offset_strategy() -> impl Strategy<Value = (String, i32)> {
        prop_oneof![
            Just(("Z".to_string(), 0)),
            (
                any::<bool>(),
                0u32..24,
                0u32..60,
                proptest::option::of(0u32..60)
            )
                .prop_map(|(neg, h, m, s)| {
                    let secs = (h * 3600 + m * 60 + s.unwrap_or(0)) as i32;
                    let text = match s {
                        Some(s) => format!("{}{h:02}:{m:02}:{s:02}", if neg { '-' } else { '+' }),
                        None => format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }),
                    };
                    (text, if neg { -secs } else { secs })
                }),
        ]
    }

    proptest! {
        #[test]
        fn every_valid_string_parses_to_the_right_instant(
            y in 1000i32..9999, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60,
            sec in proptest::option::of((0u32..60, proptest::option::of(1usize..=9, ).prop_flat_map(|n| match n {
                Some(n) => proptest::collection::vec(0u8..10, n).prop_map(Some).boxed(),
                None => Just(None).boxed(),
            }))),
            (off_text, off_secs) in offset_strategy(),
        ) {
            let mut s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}");
            let (mut second, mut nanos) = (0, 0);
            if let Some((ss, frac)) = &sec {
                second = *ss;
                s.push_str(&format!(":{ss:02}"));
                if let Some(digits) = frac {
                    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                    nanos = text.parse::<u32>().unwrap() * 10u32.pow(9 - digits.len() as u32);
                    s.push('.');
                    s.push_str(&text);
                }
            }
            s.push_str(&off_text);
            let parsed = parse_aws_datetime(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
            let expected = FixedOffset::east_opt(off_secs).unwrap()
                .with_ymd_and_hms(y, mo, d, h, mi, second).unwrap()
                .with_nanosecond(nanos).unwrap()
                .with_timezone(&Utc);
            prop_assert_eq!(parsed, expected);
            // The output form round-trips through the parser.
            let out = AWSDateTime(parsed).to_value();
            if let Value::String(o) = out {
                prop_assert!(o.ends_with('Z'));
                prop_assert!(parse_aws_datetime(&o).is_ok());
            }
        }

        #[test]
        fn removing_the_offset_is_always_rejected(y in 1000i32..9999, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60) {
            let s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}");
            prop_assert!(parse_aws_datetime(&s).is_err());
        }

        #[test]
        fn too_many_fraction_digits_are_rejected(n in 10usize..20) {
            let s = format!("2024-01-01T00:00:00.{}Z", "1".repeat(n));
            prop_assert!(parse_aws_datetime(&s).is_err());
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,40}") {
            let _ = parse_aws_datetime(&s);
        }
    }
}
