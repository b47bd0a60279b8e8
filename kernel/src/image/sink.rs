//! An encoder's output, refused past its limit.

/// The encoder's output, refused past `max` bytes.
pub struct Sink {
    /// The bytes written so far.
    pub data: Vec<u8>,
    max: usize,
    /// Whether a write was refused.
    pub full: bool,
}

impl Sink {
    /// An empty output of at most `max` bytes.
    pub fn new(max: u64) -> Sink {
        Sink {
            data: Vec::new(),
            max: usize::try_from(max).unwrap_or(usize::MAX),
            full: false,
        }
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.max - self.data.len() {
            self.full = true;
            return Err(std::io::Error::other("the output is over its limit"));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
