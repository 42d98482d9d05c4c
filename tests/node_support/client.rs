//! A client of a demo node as one of its region's demo departments. Shared by the node tests,
//! the node benchmarks and the demo scenarios in `examples/`, which take the demo PKI directory
//! from their command line.

use std::path::Path;

use zhengzhao::node::client::Client;

/// A client of the node at `url` as demo department `<region>-<who>` (`bureau`, `window`) of
/// the demo PKI under `certs`: its client certificate and key, trusting the region's TLS CA.
pub fn demo_client(url: &str, certs: &Path, region: &str, who: &str) -> Client {
    let [ca, cert, key] = zhengzhao::demo::department_tls(certs, region, who);
    Client::new(url, &ca, &cert, &key).expect("a client of the demo node")
}
