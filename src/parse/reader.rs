//! One byte reader for the wire formats read by hand in this stage (TLS extensions and
//! records, QUIC, JA4 inputs, DNS-over-TCP framing, SOCKS): big-endian integers and
//! length-delimited parts, where running out of bytes is an error, never a default.

use thiserror::Error;

/// Why a read failed.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes left than the field needs.
    #[error("{wanted} bytes wanted, {left} left")]
    Short { wanted: usize, left: usize },
    /// A value no well-formed input has.
    #[error("bad value: {0}")]
    Bad(&'static str),
}

pub type Result<T> = std::result::Result<T, WireError>;

/// Reads a byte slice front to back.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(d: &'a [u8]) -> Self {
        Reader { rest: d }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let left = self.rest.len();
        match (self.rest.get(..n), self.rest.get(n..)) {
            (Some(head), Some(tail)) => {
                self.rest = tail;
                Ok(head)
            }
            _ => Err(WireError::Short { wanted: n, left }),
        }
    }

    /// A reader over the next `n` bytes (a length-delimited part).
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>> {
        self.take(n).map(Reader::new)
    }

    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// A 24-bit big-endian integer (TLS handshake lengths).
    pub fn u24(&mut self) -> Result<u32> {
        self.array::<3>()
            .map(|[a, b, c]| u32::from_be_bytes([0, a, b, c]))
    }

    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// A QUIC variable-length integer (RFC 9000 §16): 1, 2, 4 or 8 bytes, the length in
    /// the first two bits.
    pub fn varint(&mut self) -> Result<u64> {
        let first = self
            .rest
            .first()
            .copied()
            .ok_or(WireError::Short { wanted: 1, left: 0 })?;
        let bytes = self.take(1usize << (first >> 6))?;
        Ok(bytes
            .iter()
            .skip(1)
            .fold(u64::from(first & 0x3f), |v, b| (v << 8) | u64::from(*b)))
    }

    /// Bytes up to (not including) the next `stop`; the `stop` is consumed.
    pub fn until(&mut self, stop: u8) -> Result<&'a [u8]> {
        let left = self.rest.len();
        let at = self
            .rest
            .iter()
            .position(|&b| b == stop)
            .ok_or(WireError::Short {
                wanted: left + 1,
                left,
            })?;
        let s = self.take(at)?;
        self.skip(1)?;
        Ok(s)
    }

    /// What is left, consumed.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// What is left, not consumed.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.u24(), Ok(0x04_0506));
        assert_eq!(r.u32(), Ok(0x0708_090a));
        assert!(r.is_empty());
    }

    #[test]
    fn running_out_is_an_error_and_consumes_nothing() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), Err(WireError::Short { wanted: 4, left: 3 }));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.take(4), Err(WireError::Short { wanted: 4, left: 3 }));
        assert_eq!(r.u24(), Ok(0x01_0203));
        assert_eq!(r.u8(), Err(WireError::Short { wanted: 1, left: 0 }));
        assert_eq!(r.take(0), Ok(&[][..]));
        assert_eq!(
            r.take(usize::MAX),
            Err(WireError::Short {
                wanted: usize::MAX,
                left: 0
            })
        );
    }

    #[test]
    fn sub_reads_a_length_delimited_part() {
        let mut r = Reader::new(&[0, 3, b'a', b'b', b'c', 9]);
        let n = usize::from(r.u16().unwrap());
        let mut part = r.sub(n).unwrap();
        assert_eq!(part.take(2), Ok(&b"ab"[..]));
        assert_eq!(part.rest(), b"c");
        assert!(part.is_empty());
        assert_eq!(r.u8(), Ok(9));
        let mut r = Reader::new(&[0, 5, 1]);
        let n = usize::from(r.u16().unwrap());
        assert!(r.sub(n).is_err(), "a length past the end");
    }

    #[test]
    fn quic_varints_rfc9000_a1() {
        // The examples of RFC 9000 Appendix A.1.
        let mut r = Reader::new(&[
            0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c, 0x9d, 0x7f, 0x3e, 0x7d, 0x7b, 0xbd,
            0x25,
        ]);
        assert_eq!(r.varint(), Ok(151_288_809_941_952_652));
        assert_eq!(r.varint(), Ok(494_878_333));
        assert_eq!(r.varint(), Ok(15_293));
        assert_eq!(r.varint(), Ok(37));
        assert!(r.is_empty());
        let mut r = Reader::new(&[0x40]);
        assert_eq!(r.varint(), Err(WireError::Short { wanted: 2, left: 1 }));
    }

    #[test]
    fn until_finds_a_terminator() {
        let mut r = Reader::new(b"user\0host\0x");
        assert_eq!(r.until(0), Ok(&b"user"[..]));
        assert_eq!(r.until(0), Ok(&b"host"[..]));
        assert!(r.until(0).is_err());
        assert_eq!(r.peek_rest(), b"x");
    }
}
