//! The client's IP address: the TCP peer, or, when the peer is a configured trusted proxy,
//! the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (entries left of
//! it were written by whoever sent the request and prove nothing).

use std::net::IpAddr;

/// An IP network, `10.0.0.0/8` or `2001:db8::/32`; a bare address is one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Cidr, Self::Err> {
        const BAD: &str = "must be IP networks such as \"10.0.0.0/8\" or addresses";
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| BAD)?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(BAD)?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                same_prefix(n.to_bits().into(), a.to_bits().into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                same_prefix(n.to_bits(), a.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, bits: u8, prefix: u8) -> bool {
    let shift = u32::from(bits - prefix);
    prefix == 0 || (a >> shift) == (b >> shift)
}

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(list: Vec<Cidr>) -> Self {
        TrustedProxies(list)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// `forwarded_for`: every `X-Forwarded-For` value in the order received.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = forwarded_for.rev().flat_map(|v| v.rsplit(','));
        for hop in hops {
            // Not an address (garbage, `unknown`): the last hop we could trust sent it.
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                return client;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|c| c.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")) && !net.contains(ip("10.2.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.0.9")),
            "IPv4-mapped peers count as IPv4"
        );
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        assert!("192.0.2.7"
            .parse::<Cidr>()
            .unwrap()
            .contains(ip("192.0.2.7")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "fe80::/129", "", "x/1"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let p = proxies(&["10.0.0.0/8"]);
        let xff = ["198.51.100.9, 203.0.113.5", "10.0.0.2"];
        assert_eq!(
            p.client_ip(ip("192.0.2.1"), xff.into_iter()),
            ip("192.0.2.1")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), xff.into_iter()),
            ip("203.0.113.5")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), ["junk, 10.0.0.3"].into_iter()),
            ip("10.0.0.3")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
    }
}
