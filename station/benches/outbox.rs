//! Outbox benchmarks (placeholder until written).
fn main() {}
