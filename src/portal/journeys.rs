//! Which orders each accepted Wi-Fi client placed during its current
//! acceptance, so the probe rule knows whether the customer still waits
//! for one and the portal's landing can reopen its status page. Kept in
//! memory only (the status page's URL carries the order's token, which the
//! database stores only hashed); lost on restart, which only sends the
//! customer to the shop list instead.

use crate::portal::Visit;
use std::collections::HashMap;
use std::net::IpAddr;

/// Clients remembered at once; beyond it new clients are not recorded
/// (they count as not having ordered: captive, landing on the shops).
const MAX_CLIENTS: usize = 4096;
/// Orders remembered per client; the oldest is forgotten first.
const MAX_ORDERS: usize = 8;

struct Journey {
    /// The acceptance the orders were placed in, named by its expiry: a new
    /// acceptance (or none) voids them.
    acceptance: i64,
    /// The device's MAC when it ordered, if the ARP table knew it.
    mac: Option<String>,
    /// Order id, its customer token, whether it is still open; oldest first.
    orders: Vec<(i64, String, bool)>,
}

#[derive(Default)]
pub(crate) struct Journeys {
    clients: HashMap<IpAddr, Journey>,
}

impl Journeys {
    /// `ip`, accepted until `acceptance`, placed `order` under `token`.
    pub(crate) fn record(
        &mut self,
        ip: IpAddr,
        acceptance: i64,
        mac: Option<String>,
        order: i64,
        token: &str,
    ) {
        let same = |j: &Journey| j.acceptance == acceptance && j.mac == mac;
        if !self.clients.get(&ip).is_some_and(same) {
            if self.clients.len() >= MAX_CLIENTS && !self.clients.contains_key(&ip) {
                return;
            }
            self.clients.insert(
                ip,
                Journey {
                    acceptance,
                    mac,
                    orders: Vec::new(),
                },
            );
        }
        if let Some(journey) = self.clients.get_mut(&ip) {
            if journey.orders.iter().any(|(id, ..)| *id == order) {
                return;
            }
            if journey.orders.len() >= MAX_ORDERS {
                journey.orders.remove(0);
            }
            journey.orders.push((order, token.to_string(), true));
        }
    }

    /// Where `ip` is in its visit, given its current acceptance (`None`:
    /// not accepted).
    pub(crate) fn visit(&self, ip: IpAddr, acceptance: Option<i64>) -> Visit {
        let Some(acceptance) = acceptance else {
            return Visit::Held;
        };
        match self.clients.get(&ip) {
            Some(j) if j.acceptance == acceptance && !j.orders.is_empty() => {
                if j.orders.iter().any(|&(.., open)| open) {
                    Visit::Waiting
                } else {
                    Visit::Done
                }
            }
            _ => Visit::Browsing,
        }
    }

    /// The newest open order of `ip` and its token, only for the same
    /// acceptance and the same device (`mac` as the ARP table says now):
    /// an address reused by another device never shows this one's order.
    pub(crate) fn open_order(
        &self,
        ip: IpAddr,
        acceptance: Option<i64>,
        mac: Option<&str>,
    ) -> Option<(i64, &str)> {
        let j = self.clients.get(&ip)?;
        if Some(j.acceptance) != acceptance || j.mac.as_deref() != mac {
            return None;
        }
        j.orders
            .iter()
            .rev()
            .find(|&&(.., open)| open)
            .map(|(id, token, _)| (*id, token.as_str()))
    }

    /// Forgets clients whose acceptance ended or changed (`accepted`: each
    /// accepted address and its expiry), and returns the orders still
    /// marked open, for `closed` to be told which of them have finished.
    pub(crate) fn prune(&mut self, accepted: &HashMap<IpAddr, i64>) -> Vec<i64> {
        self.clients
            .retain(|ip, j| accepted.get(ip) == Some(&j.acceptance));
        self.clients
            .values()
            .flat_map(|j| j.orders.iter().filter(|o| o.2).map(|o| o.0))
            .collect()
    }

    /// Marks these orders finished (completed or cancelled: final).
    pub(crate) fn closed(&mut self, finished: &[i64]) {
        for journey in self.clients.values_mut() {
            for order in &mut journey.orders {
                if finished.contains(&order.0) {
                    order.2 = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 213, 0, last])
    }
    const MAC: Option<&str> = Some("aa:bb:cc:dd:ee:01");

    #[test]
    fn a_visit_goes_from_browsing_to_waiting_to_done() {
        let mut j = Journeys::default();
        assert_eq!(j.visit(ip(2), None), Visit::Held);
        assert_eq!(j.visit(ip(2), Some(500)), Visit::Browsing);
        j.record(ip(2), 500, MAC.map(String::from), 7, "tok7");
        assert_eq!(j.visit(ip(2), Some(500)), Visit::Waiting);
        j.record(ip(2), 500, MAC.map(String::from), 8, "tok8");
        j.closed(&[8]);
        assert_eq!(j.visit(ip(2), Some(500)), Visit::Waiting, "7 is open");
        assert_eq!(j.open_order(ip(2), Some(500), MAC), Some((7, "tok7")));
        j.closed(&[7]);
        assert_eq!(j.visit(ip(2), Some(500)), Visit::Done);
        assert_eq!(j.open_order(ip(2), Some(500), MAC), None);
        // Another acceptance of the same address starts afresh.
        assert_eq!(j.visit(ip(2), Some(900)), Visit::Browsing);
        assert_eq!(j.visit(ip(3), Some(500)), Visit::Browsing);
    }

    #[test]
    fn an_order_is_shown_only_to_the_same_device_in_the_same_acceptance() {
        let mut j = Journeys::default();
        j.record(ip(2), 500, MAC.map(String::from), 7, "tok7");
        assert_eq!(j.open_order(ip(2), Some(500), MAC), Some((7, "tok7")));
        assert_eq!(
            j.open_order(ip(2), Some(500), Some("aa:bb:cc:dd:ee:02")),
            None
        );
        assert_eq!(j.open_order(ip(2), Some(500), None), None);
        assert_eq!(j.open_order(ip(2), Some(900), MAC), None);
        assert_eq!(j.open_order(ip(2), None, MAC), None);
        assert_eq!(j.open_order(ip(3), Some(500), MAC), None);
        // Another device ordering from the reused address replaces the list.
        j.record(ip(2), 500, Some("aa:bb:cc:dd:ee:02".into()), 9, "tok9");
        assert_eq!(j.open_order(ip(2), Some(500), MAC), None);
        assert_eq!(
            j.open_order(ip(2), Some(500), Some("aa:bb:cc:dd:ee:02")),
            Some((9, "tok9"))
        );
    }

    #[test]
    fn ended_acceptances_are_forgotten_and_memory_is_bounded() {
        let mut j = Journeys::default();
        j.record(ip(2), 500, None, 7, "tok7");
        j.record(ip(3), 500, None, 8, "tok8");
        let accepted = HashMap::from([(ip(2), 500), (ip(3), 900)]);
        assert_eq!(j.prune(&accepted), vec![7]);
        assert_eq!(j.visit(ip(3), Some(900)), Visit::Browsing);
        for order in 10..30 {
            j.record(ip(2), 500, None, order, "t");
        }
        assert_eq!(j.clients[&ip(2)].orders.len(), MAX_ORDERS);
        assert_eq!(j.open_order(ip(2), Some(500), None), Some((29, "t")));
        for n in 0..MAX_CLIENTS + 10 {
            let addr = IpAddr::from([10, 1, (n / 256) as u8, (n % 256) as u8]);
            j.record(addr, 1, None, 1, "t");
        }
        assert_eq!(j.clients.len(), MAX_CLIENTS);
    }
}
