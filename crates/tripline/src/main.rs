//! `tripline`: the command-line shell around tripline-core.
#![forbid(unsafe_code)]

fn main() {
    println!("tripline");
}
