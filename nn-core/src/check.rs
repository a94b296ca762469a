//! Compile-time error messages with numbers in them, for the checks `network!` leaves to the
//! compiler. Not a public API.
//!
//! A `const` assert may only panic with a `&str`, and formatting numbers into one is not
//! possible in a `const` context with `format!`. This builds the text byte by byte in a
//! `const fn`, so that a mismatch between named constants reads
//! "expects 100 (HIDDEN2) inputs but `fc1` gives 128 (HIDDEN)" rather than only the names.

/// The longest message kept; longer ones are cut, which only loses their end.
const CAPACITY: usize = 512;

/// A message under construction, in a fixed buffer (usable in `const` items, no allocation).
#[derive(Clone, Copy)]
pub struct Message {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl Message {
    /// An empty message.
    pub const fn new() -> Self {
        Message {
            bytes: [0; CAPACITY],
            len: 0,
        }
    }

    /// Appends `text`.
    pub const fn text(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        // Cut at a character boundary so the message stays valid UTF-8.
        while i < bytes.len() && self.len < CAPACITY - 4 {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 && self.len < CAPACITY {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends `value` in decimal.
    pub const fn value(mut self, mut value: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (value % 10) as u8;
            count += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        while count > 0 && self.len < CAPACITY {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// Appends the per-sample shape of a batch-of-one tensor shape `[1, d1, d2, ..]` as
    /// `(d1, d2, ..)`.
    pub const fn sample_shape(mut self, shape: &[usize]) -> Self {
        self = self.text("(");
        let mut i = 1;
        while i < shape.len() {
            if i > 1 {
                self = self.text(", ");
            }
            self = self.value(shape[i]);
            i += 1;
        }
        self.text(")")
    }

    /// The message so far.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            Err(_) => "a size check failed",
        }
    }
}

impl Default for Message {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether two tensor shapes are equal, in a `const` context.
pub const fn same_shape(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_text_values_and_shapes() {
        const M: Message = Message::new()
            .text("expects ")
            .value(100)
            .text(" but gets ")
            .value(0)
            .text(" of ")
            .sample_shape(&[1, 16, 4, 4]);
        assert_eq!(M.as_str(), "expects 100 but gets 0 of (16, 4, 4)");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let mut m = Message::new();
        for _ in 0..200 {
            m = m.text("×y");
        }
        let text = m.as_str();
        assert!(text.len() <= CAPACITY && text.len() > CAPACITY - 8 && text.starts_with("×y"));
    }

    #[test]
    fn compares_shapes() {
        assert!(same_shape(&[1, 2, 3], &[1, 2, 3]));
        assert!(!same_shape(&[1, 2, 3], &[1, 6]));
        assert!(!same_shape(&[1, 2], &[1, 3]));
    }
}
