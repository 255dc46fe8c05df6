//! The one integration-test binary: a module per surface.

mod alerts;
mod analyze;
mod block;
mod block_alerts;
mod block_lab;
mod conformance;
mod daemon;
mod netns;
mod run;
mod sources;
mod tidy;
mod util;
