//! Address networks (`198.51.100.0/24`, `2001:db8::/32`) used by config, auto_dl and signatures.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network: address plus prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// Network address (host bits are cleared on construction).
    pub addr: IpAddr,
    /// Prefix length (0..=32 or 0..=128).
    pub prefix: u8,
}

impl IpNet {
    /// A network, with host bits cleared; `None` if the prefix is too long.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return None;
        }
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
        };
        Some(IpNet { addr, prefix })
    }
    /// A single host.
    pub fn host(addr: IpAddr) -> IpNet {
        IpNet {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        }
    }
    /// True if `ip` lies inside this network (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask32(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask128(self.prefix) == u128::from(n),
            _ => false,
        }
    }
}

fn mask32(p: u8) -> u32 {
    if p == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(p))
    }
}

fn mask128(p: u8) -> u128 {
    if p == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(p))
    }
}

/// Error from parsing an `IpNet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetParseError(pub String);

impl fmt::Display for NetParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid network {:?}", self.0)
    }
}

impl std::error::Error for NetParseError {}

impl FromStr for IpNet {
    type Err = NetParseError;
    /// Accepts `addr`, `addr/len`, and IPv4 `addr/dotted.mask`.
    fn from_str(s: &str) -> Result<IpNet, NetParseError> {
        let err = || NetParseError(s.to_string());
        let (a, m) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| err())?;
        let prefix = match m {
            None => return Ok(IpNet::host(addr)),
            Some(m) => {
                let m = m.trim();
                if let Ok(len) = m.parse::<u8>() {
                    len
                } else if let (IpAddr::V4(_), Ok(mask)) = (addr, m.parse::<std::net::Ipv4Addr>()) {
                    let bits = u32::from(mask);
                    if bits.leading_ones() + bits.trailing_zeros() != 32 {
                        return Err(err());
                    }
                    bits.leading_ones() as u8
                } else {
                    return Err(err());
                }
            }
        };
        IpNet::new(addr, prefix).ok_or_else(err)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_contains() {
        let n: IpNet = "198.51.100.7/255.255.255.0".parse().unwrap();
        assert_eq!(n.to_string(), "198.51.100.0/24");
        assert!(n.contains("198.51.100.200".parse().unwrap()));
        assert!(!n.contains("203.0.113.1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:100::13".parse().unwrap()));
        assert!(!v6.contains("198.51.100.1".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<IpNet>().is_err());
        assert!("1.2.3.4/255.0.255.0".parse::<IpNet>().is_err());
    }
}
