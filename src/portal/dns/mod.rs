//! The portal's DNS: the wire format, the rules for each packet (`plan`),
//! the UDP and TCP server, and forwarding to upstream resolvers. Clients
//! that have not accepted the portal, and everyone in `local` mode, get the
//! portal's address for every name; accepted clients in `internet` mode
//! are forwarded.

mod forward;
mod plan;
mod server;
pub mod wire;

pub use plan::{answer_in_place, fit_udp, plan, query_packet, Plan, MAX_UDP, MIN_UDP};
pub use server::MAX_TCP_PER_CLIENT;
pub(crate) use server::{bind, max_descriptors, serve};
