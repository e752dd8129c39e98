//! Core benchmark (bench binary): 1M orders cached; import time, open-by-waybill and
//! scan-to-outcome latency p50/p99, database size. Filled in below.

fn main() {}
