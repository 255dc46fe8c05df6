//! The one integration-test binary: a module per surface.

mod alerts;
mod analyze;
mod conformance;
mod daemon;
mod run;
mod tidy;
mod util;
