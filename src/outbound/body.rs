//! Reading a response from an untrusted party: never more than a fixed number of bytes.

/// The first bytes of a response body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limited {
    pub bytes: Vec<u8>,
    /// More was sent (or would have been) than was read.
    pub truncated: bool,
}

impl Limited {
    /// The bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Read at most `max` bytes of `response`'s body, then drop the rest unread (the
/// connection is closed rather than drained). A read error after some bytes keeps them.
pub async fn read_limited(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Limited, reqwest::Error> {
    let mut out = Limited::default();
    if response.content_length().is_some_and(|n| n as usize > max) {
        out.truncated = true;
    }
    while out.bytes.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max - out.bytes.len();
                if chunk.len() > room {
                    out.bytes.extend_from_slice(&chunk[..room]);
                    out.truncated = true;
                    break;
                }
                out.bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) if out.bytes.is_empty() => return Err(e),
            Err(_) => {
                out.truncated = true;
                return Ok(out);
            }
        }
    }
    // At the cap: whatever follows is not read (the end may or may not have been near).
    out.truncated = true;
    drop(response);
    Ok(out)
}
