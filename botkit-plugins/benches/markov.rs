//! Markov speed: words learned per second and the latency of generating one line.

fn main() {}
