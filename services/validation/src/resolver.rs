//! Name resolution for the guard: the system resolver in production, a fixed table in tests.
//! The HTTP clients never resolve target names themselves.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;

pub type Lookup<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Resolves a host name to its addresses.
pub trait Resolver: Send + Sync {
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a>;
}

/// The operating system's resolver (getaddrinfo through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a> {
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host, 0)).await?;
            let mut ips: Vec<IpAddr> = addresses.map(|address| address.ip()).collect();
            ips.dedup();
            Ok(ips)
        })
    }
}

/// A fixed name → addresses table; unknown names fail to resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// Panics on a malformed address: for tests and fixed tables only.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> StaticResolver {
        StaticResolver {
            table: entries
                .into_iter()
                .map(|(name, ips)| {
                    let ips = ips
                        .into_iter()
                        .map(|ip| ip.parse().unwrap_or_else(|_| panic!("bad address {ip}")))
                        .collect();
                    (name.to_ascii_lowercase(), ips)
                })
                .collect(),
        }
    }
}

impl Resolver for StaticResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> Lookup<'a> {
        let found = self.table.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        })
    }
}
