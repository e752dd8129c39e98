//! Label rendering benchmarks (filled in with the renderers).

fn main() {}
