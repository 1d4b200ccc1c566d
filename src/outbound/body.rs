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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering every connection with `reply`, raw.
    async fn serve(reply: &'static [u8]) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn reads_up_to_the_cap_and_says_so() {
        let c = reqwest::Client::new();
        let url =
            serve(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\n0123456789")
                .await;
        let long = read_limited(c.get(&url).send().await.unwrap(), 4)
            .await
            .unwrap();
        assert_eq!((long.text().as_str(), long.truncated), ("0123", true));
        let all = read_limited(c.get(&url).send().await.unwrap(), 64)
            .await
            .unwrap();
        assert_eq!((all.text().as_str(), all.truncated), ("0123456789", false));
        let empty = serve(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
        let none = read_limited(c.get(&empty).send().await.unwrap(), 64)
            .await
            .unwrap();
        assert_eq!(none, Limited::default());
    }
}
