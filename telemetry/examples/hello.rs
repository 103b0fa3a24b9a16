//! Placeholder until the example function lands.
fn main() {}
