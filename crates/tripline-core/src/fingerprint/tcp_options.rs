//! TCP options from the kernel's `OPT (...)` hex text.
//!
//! Two readings of the same bytes, because the two consumers disagree:
//!
//! * [`TcpOptions::parse_hex`] walks the bytes the way a TCP stack (and p0f v3)
//!   does: every option in order, EOL padding, and the parse quirks p0f keys on
//!   (`opt+`, `exws`, `bad`, `ts1-`, `ts2+`).
//! * [`PsadOptions::parse_hex`] is psad's `parse_tcp_options()` (spec §1.4): only
//!   NOP, MSS, window scale, SACK permitted and timestamp are recorded, values
//!   are read with whatever length the option claims, a trailing lone byte is
//!   ignored, and an odd-length text or a 0/1 length byte on a non-NOP option
//!   means "no options".
//!
//! Neither allocates: options live in fixed arrays sized for the 40 bytes a TCP
//! header can carry.

/// Most option bytes a TCP header can hold (data offset 15 → 60 − 20).
pub const MAX_OPTION_BYTES: usize = 40;

/// Longest hex text accepted. The kernel never logs more than 40 option bytes;
/// anything longer is not a real header and is treated as malformed.
const MAX_HEX_BYTES: usize = 64;

/// One TCP option as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpOpt {
    /// Kind 0, end of option list.
    #[default]
    Eol,
    /// Kind 1, no-operation (padding).
    Nop,
    /// Kind 2, maximum segment size.
    Mss(u16),
    /// Kind 3, window scale shift count.
    WindowScale(u8),
    /// Kind 4, SACK permitted.
    SackPermitted,
    /// Kind 5, SACK blocks (only the length is kept).
    Sack {
        /// Option length byte.
        len: u8,
    },
    /// Kind 8, timestamps.
    Timestamp {
        /// The sender's clock (TSval).
        tsval: u32,
        /// The echoed peer clock (TSecr); must be 0 on a SYN.
        tsecr: u32,
    },
    /// Any other kind, with its length byte.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option length byte.
        len: u8,
    },
}

impl TcpOpt {
    /// The option's kind number.
    pub fn kind(self) -> u8 {
        match self {
            TcpOpt::Eol => 0,
            TcpOpt::Nop => 1,
            TcpOpt::Mss(_) => 2,
            TcpOpt::WindowScale(_) => 3,
            TcpOpt::SackPermitted => 4,
            TcpOpt::Sack { .. } => 5,
            TcpOpt::Timestamp { .. } => 8,
            TcpOpt::Unknown { kind, .. } => kind,
        }
    }
}

/// Why a hex text could not be read as option bytes at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexError {
    /// Odd number of hex digits.
    OddLength,
    /// A character that is not a hex digit.
    NotHex,
    /// More bytes than any TCP header can carry.
    TooLong,
}

/// Decode `hex` into `buf`, returning the used prefix.
fn decode_hex<'b>(hex: &str, buf: &'b mut [u8; MAX_HEX_BYTES]) -> Result<&'b [u8], HexError> {
    let h = hex.as_bytes();
    if h.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    let n = h.len() / 2;
    if n > MAX_HEX_BYTES {
        return Err(HexError::TooLong);
    }
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    for (i, pair) in h.chunks_exact(2).enumerate() {
        let (Some(a), Some(b)) = (nib(pair[0]), nib(pair[1])) else {
            return Err(HexError::NotHex);
        };
        buf[i] = a << 4 | b;
    }
    Ok(&buf[..n])
}

/// p0f v3 option quirk: `ts1-` (own timestamp zero).
pub const QUIRK_TS1_ZERO: u32 = 1 << 0;
/// p0f v3 option quirk: `ts2+` (peer timestamp non-zero on a SYN).
pub const QUIRK_TS2_NONZERO: u32 = 1 << 1;
/// p0f v3 option quirk: `opt+` (non-zero bytes after EOL).
pub const QUIRK_EOL_NONZERO: u32 = 1 << 2;
/// p0f v3 option quirk: `exws` (window scale above 14).
pub const QUIRK_EXCESSIVE_WS: u32 = 1 << 3;
/// p0f v3 option quirk: `bad` (options could not be parsed cleanly).
pub const QUIRK_BAD: u32 = 1 << 4;

/// The options of one segment in wire order, as a TCP stack (and p0f v3) reads
/// them. No allocation: at most [`MAX_OPTION_BYTES`] entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOptions {
    opts: [TcpOpt; MAX_OPTION_BYTES],
    len: u8,
    /// Bytes after an EOL (p0f's `eol+N`), 0 when there is no EOL.
    pub eol_pad: u8,
    /// Total option bytes (the TCP header is 20 + this).
    pub bytes: u8,
    /// Option quirks in p0f v3's sense: `QUIRK_*` bits of this module.
    pub quirks: u32,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            opts: [TcpOpt::Eol; MAX_OPTION_BYTES],
            len: 0,
            eol_pad: 0,
            bytes: 0,
            quirks: 0,
        }
    }
}

impl TcpOptions {
    /// Parse the logged hex (`020405B40402080A…`). `syn_only` says the segment
    /// is a SYN without ACK, where a non-zero TSecr is the `ts2+` quirk.
    ///
    /// Structural problems never fail: like p0f, parsing stops and sets
    /// [`QUIRK_BAD`]. Only text that is not hex at all is an error.
    pub fn parse_hex(hex: &str, syn_only: bool) -> Result<TcpOptions, HexError> {
        let mut buf = [0u8; MAX_HEX_BYTES];
        let bytes = decode_hex(hex, &mut buf)?;
        if bytes.len() > MAX_OPTION_BYTES {
            return Err(HexError::TooLong);
        }
        Ok(Self::parse_bytes(bytes, syn_only))
    }

    /// Parse raw option bytes (see [`TcpOptions::parse_hex`]).
    pub fn parse_bytes(b: &[u8], syn_only: bool) -> TcpOptions {
        let mut o = TcpOptions {
            bytes: b.len().min(MAX_OPTION_BYTES) as u8,
            ..TcpOptions::default()
        };
        let b = &b[..o.bytes as usize];
        let mut i = 0usize;
        while i < b.len() {
            let kind = b[i];
            i += 1;
            let rest = &b[i..];
            let opt = match kind {
                0 => {
                    // EOL ends the list; what follows is padding that should be zero.
                    o.eol_pad = rest.len() as u8;
                    if rest.iter().any(|&x| x != 0) {
                        o.quirks |= QUIRK_EOL_NONZERO;
                    }
                    o.push(TcpOpt::Eol);
                    return o;
                }
                1 => TcpOpt::Nop,
                2 | 3 | 4 | 8 => {
                    let want = match kind {
                        2 => 4,
                        3 => 3,
                        4 => 2,
                        _ => 10,
                    };
                    // p0f trusts the fixed size, flags a wrong length byte as
                    // `bad`, and gives up when the option runs past the end.
                    if rest.first().is_some_and(|&l| l as usize != want) || rest.is_empty() {
                        o.quirks |= QUIRK_BAD;
                    }
                    if rest.len() < want - 1 {
                        // p0f has already put the kind into the layout.
                        o.push(match kind {
                            2 => TcpOpt::Mss(0),
                            3 => TcpOpt::WindowScale(0),
                            4 => TcpOpt::SackPermitted,
                            _ => TcpOpt::Timestamp { tsval: 0, tsecr: 0 },
                        });
                        o.quirks |= QUIRK_BAD;
                        return o;
                    }
                    i += want - 1;
                    match kind {
                        2 => TcpOpt::Mss(u16::from_be_bytes([rest[1], rest[2]])),
                        3 => {
                            if rest[1] > 14 {
                                o.quirks |= QUIRK_EXCESSIVE_WS;
                            }
                            TcpOpt::WindowScale(rest[1])
                        }
                        4 => TcpOpt::SackPermitted,
                        _ => {
                            let tsval = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
                            let tsecr = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
                            if tsval == 0 {
                                o.quirks |= QUIRK_TS1_ZERO;
                            }
                            if syn_only && tsecr != 0 {
                                o.quirks |= QUIRK_TS2_NONZERO;
                            }
                            TcpOpt::Timestamp { tsval, tsecr }
                        }
                    }
                }
                _ => {
                    let Some(&len) = rest.first() else {
                        o.push(TcpOpt::Unknown { kind, len: 0 });
                        o.quirks |= QUIRK_BAD;
                        return o;
                    };
                    let sane = if kind == 5 {
                        (10..=34).contains(&len)
                    } else {
                        (2..=40).contains(&len)
                    };
                    if !sane || len as usize - 1 > rest.len() {
                        o.push(if kind == 5 {
                            TcpOpt::Sack { len }
                        } else {
                            TcpOpt::Unknown { kind, len }
                        });
                        o.quirks |= QUIRK_BAD;
                        return o;
                    }
                    i += len as usize - 1;
                    if kind == 5 {
                        TcpOpt::Sack { len }
                    } else {
                        TcpOpt::Unknown { kind, len }
                    }
                }
            };
            o.push(opt);
        }
        o
    }

    fn push(&mut self, opt: TcpOpt) {
        if (self.len as usize) < MAX_OPTION_BYTES {
            self.opts[self.len as usize] = opt;
            self.len += 1;
        }
    }

    /// The options in wire order (EOL included when present).
    pub fn as_slice(&self) -> &[TcpOpt] {
        &self.opts[..self.len as usize]
    }

    /// Number of options.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when the segment carried no options.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The MSS value, 0 when absent (p0f's convention).
    pub fn mss(&self) -> u16 {
        self.as_slice()
            .iter()
            .rev()
            .find_map(|o| match o {
                TcpOpt::Mss(v) => Some(*v),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The window scale, 0 when absent.
    pub fn wscale(&self) -> u8 {
        self.as_slice()
            .iter()
            .rev()
            .find_map(|o| match o {
                TcpOpt::WindowScale(v) => Some(*v),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// TSval, 0 when absent.
    pub fn tsval(&self) -> u32 {
        self.as_slice()
            .iter()
            .rev()
            .find_map(|o| match o {
                TcpOpt::Timestamp { tsval, .. } => Some(*tsval),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Kind bytes in order: p0f v3's `olayout`.
    pub fn layout(&self) -> impl Iterator<Item = u8> + '_ {
        self.as_slice().iter().map(|o| o.kind())
    }
}

/// An option psad records (spec §1.4); other kinds are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PsadOpt {
    /// NOP.
    #[default]
    Nop,
    /// MSS with psad's value (big-endian over the bytes its length claims).
    Mss(u64),
    /// Window scale value.
    WindowScale(u64),
    /// SACK permitted.
    SackPermitted,
    /// Timestamp: TSval only.
    Timestamp(u64),
}

/// psad's reading of the options: the recognised options in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsadOptions {
    opts: [PsadOpt; MAX_OPTION_BYTES],
    len: u8,
    /// True when psad would log "broken N-byte len field" (and use no options).
    pub broken_len: bool,
}

impl Default for PsadOptions {
    fn default() -> Self {
        PsadOptions {
            opts: [PsadOpt::Nop; MAX_OPTION_BYTES],
            len: 0,
            broken_len: false,
        }
    }
}

/// Big-endian value of `bytes`, saturating instead of overflowing on absurd
/// lengths (psad's Perl `hex()` degrades to a float there; no real stack sends them).
fn be_value(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| {
        acc.checked_mul(256).map_or(u64::MAX, |v| v | b as u64)
    })
}

impl PsadOptions {
    /// psad's `parse_tcp_options()`: odd length, non-hex text, or a 0/1 length
    /// byte on a non-NOP option → no options. EOL stops the walk; so does a
    /// final lone byte (psad needs a kind *and* a length byte to continue).
    pub fn parse_hex(hex: &str) -> PsadOptions {
        let mut o = PsadOptions::default();
        let mut buf = [0u8; MAX_HEX_BYTES];
        let Ok(b) = decode_hex(hex, &mut buf) else {
            return o;
        };
        let mut i = 0usize;
        while i + 1 < b.len() {
            let kind = b[i];
            let len = b[i + 1] as usize;
            // psad reads an option's value from the bytes its length byte claims,
            // clipped to what is there.
            let val = |from: usize, to: usize| -> u64 {
                let to = to.min(b.len());
                if from >= to {
                    0
                } else {
                    be_value(&b[from..to])
                }
            };
            match kind {
                0 => break,
                1 => {
                    o.push(PsadOpt::Nop);
                    i += 1;
                    continue;
                }
                2 => o.push(PsadOpt::Mss(val(i + 2, i + len))),
                3 => o.push(PsadOpt::WindowScale(val(i + 2, i + len))),
                4 => o.push(PsadOpt::SackPermitted),
                8 => o.push(PsadOpt::Timestamp(val(i + 2, (i + len).saturating_sub(4)))),
                _ => {}
            }
            if len < 2 {
                return PsadOptions {
                    broken_len: true,
                    ..PsadOptions::default()
                };
            }
            i += len;
        }
        o
    }

    fn push(&mut self, opt: PsadOpt) {
        if (self.len as usize) < MAX_OPTION_BYTES {
            self.opts[self.len as usize] = opt;
            self.len += 1;
        }
    }

    /// The recognised options in order.
    pub fn as_slice(&self) -> &[PsadOpt] {
        &self.opts[..self.len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_options() {
        // Real corpus line (198.51.100.18): MSS 1460, SACK, TS, NOP, WS 0.
        let o = TcpOptions::parse_hex("020405B40402080A2E78921E0000000001030300", true).unwrap();
        assert_eq!(o.layout().collect::<Vec<_>>(), vec![2, 4, 8, 1, 3]);
        assert_eq!(o.mss(), 1460);
        assert_eq!(o.wscale(), 0);
        assert_eq!(o.tsval(), 0x2E78921E);
        assert_eq!(o.quirks, 0);
        assert_eq!(o.bytes, 20);
        let p = PsadOptions::parse_hex("020405B40402080A2E78921E0000000001030300");
        assert_eq!(
            p.as_slice(),
            &[
                PsadOpt::Mss(1460),
                PsadOpt::SackPermitted,
                PsadOpt::Timestamp(0x2E78921E),
                PsadOpt::Nop,
                PsadOpt::WindowScale(0)
            ]
        );
    }

    #[test]
    fn eol_padding_and_quirks() {
        // macOS-style layout ending in EOL + 1 byte of padding.
        let o = TcpOptions::parse_hex("020405B4010303060101080A000000000000000104020000", true)
            .unwrap();
        assert_eq!(o.layout().collect::<Vec<_>>(), vec![2, 1, 3, 1, 1, 8, 4, 0]);
        assert_eq!(o.eol_pad, 1);
        assert_eq!(o.quirks, QUIRK_TS1_ZERO | QUIRK_TS2_NONZERO);
        let o = TcpOptions::parse_hex("00000100", true).unwrap();
        assert_eq!(o.eol_pad, 3);
        assert_eq!(o.quirks, QUIRK_EOL_NONZERO);
        let o = TcpOptions::parse_hex("03030F", true).unwrap();
        assert_eq!(o.quirks, QUIRK_EXCESSIVE_WS);
        // Truncated MSS: bad, parsing stops.
        let o = TcpOptions::parse_hex("0204", true).unwrap();
        assert!(o.quirks & QUIRK_BAD != 0);
        assert_eq!(o.layout().collect::<Vec<_>>(), vec![2]);
        assert_eq!(TcpOptions::parse_hex("020", true), Err(HexError::OddLength));
        assert_eq!(TcpOptions::parse_hex("zz", true), Err(HexError::NotHex));
    }

    #[test]
    fn psad_rules() {
        // Odd length → no options.
        assert!(PsadOptions::parse_hex("020405B").as_slice().is_empty());
        // Broken length on a non-NOP option → no options.
        let p = PsadOptions::parse_hex("020405B40401");
        assert!(p.broken_len && p.as_slice().is_empty());
        // EOL stops; later options are not seen.
        let p = PsadOptions::parse_hex("0100020405B4");
        assert_eq!(p.as_slice(), &[PsadOpt::Nop]);
        // A final lone byte is not recorded (psad needs kind + length).
        let p = PsadOptions::parse_hex("0303070101");
        assert_eq!(p.as_slice(), &[PsadOpt::WindowScale(7), PsadOpt::Nop]);
        // Unknown kinds are skipped by their length and do not take a position.
        let p = PsadOptions::parse_hex("1E0400000402");
        assert_eq!(p.as_slice(), &[PsadOpt::SackPermitted]);
    }
}
