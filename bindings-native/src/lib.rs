//! kiln on servers: the `kiln` binary's parts — where jobs run ([`kernel`]: the
//! sandbox of `kiln-sandbox`, or the kernel linked in), HTTP API v1 ([`server`]), the
//! live kernels ([`live`]: swap, canary), kernel signatures ([`signing`]), batch runs
//! ([`batch`]), metrics and atomic file writes. The subcommands are in src/cmd/.

pub mod batch;
pub mod fs;
pub mod kernel;
pub mod live;
pub mod metrics;
pub mod server;
pub mod signing;

pub use kernel::Kernel;
