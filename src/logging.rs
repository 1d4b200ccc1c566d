//! Log output. Text logs escape every control character a logged value may carry
//! (newline, carriage return, ESC, other C0/C1 controls, Unicode line separators), so a
//! token name or alert title can never start a forged line or rewrite a terminal; only
//! the newline that ends each event is written as is. `HERALD_LOG_FORMAT=json` writes
//! one JSON object per line instead.
use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;

/// The log format chosen by `HERALD_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// `line` with every control character escaped, except one final `\n`.
pub fn escape_event(line: &str) -> String {
    let (body, newline) = match line.strip_suffix('\n') {
        Some(b) => (b, true),
        None => (line, false),
    };
    let mut out = String::with_capacity(body.len() + 1);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    if newline {
        out.push('\n');
    }
    out
}

/// Makes one [`EscapingWriter`] per event, writing to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedStderr;

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = EscapingWriter<std::io::Stderr>;
    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter::new(std::io::stderr())
    }
}

/// Collects one formatted event and writes it escaped when dropped (the formatter
/// makes a writer per event and drops it once the event is written).
pub struct EscapingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> EscapingWriter<W> {
    pub fn new(inner: W) -> Self {
        EscapingWriter {
            inner,
            buf: Vec::new(),
        }
    }
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for EscapingWriter<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = escape_event(&String::from_utf8_lossy(&self.buf));
        let _ = self.inner.write_all(line.as_bytes());
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_but_the_final_newline() {
        assert_eq!(
            escape_event("name=a\nFORGED line\r\x1b[31m\u{85}\u{2028}end\n"),
            "name=a\\nFORGED line\\r\\u{1b}[31m\\u{85}\\u{2028}end\n"
        );
        assert_eq!(escape_event("plain é 漢字\n"), "plain é 漢字\n");
        assert_eq!(escape_event("two\n\n"), "two\\n\n");
    }

    #[test]
    fn the_writer_escapes_on_drop() {
        let mut out = Vec::new();
        {
            let mut w = EscapingWriter::new(&mut out);
            w.write_all(b"a\nb").unwrap();
            w.write_all(b"\n").unwrap();
        }
        assert_eq!(out, b"a\\nb\n");
    }
}
