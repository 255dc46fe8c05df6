//! Tripline's pure core: firewall log parsing, the per-source detection engine,
//! danger levels, signatures and the configuration model.
//!
//! **Invariants.** This crate does no IO, reads no clock and starts no threads:
//! files arrive as `&str`, time arrives as a [`Timestamp`] with each call.
//! Parsing a line never panics, whatever bytes it holds.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod block;
pub mod config;
pub mod engine;
pub mod fingerprint;
pub mod icmp;
pub mod net;
pub mod packet;
pub mod parse;
pub mod signature;

pub use config::Config;
pub use packet::{Chain, Packet, Proto, TcpFlags, Timestamp};
pub use parse::{parse_line, ParseError, ParseOptions};
