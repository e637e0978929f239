//! Everything the server allocates, in one place: addresses by Contrail's address-management
//! rules ([`subnet`] for the subnets and their defaults, [`addr`] for the allocator) and integer
//! ids ([`ids`], and virtual port groups' AE ids per physical router: [`ae_ids`]). Instance IPs, floating IPs, alias IPs and the `ip-alloc`/`ip-free`/
//! `subnet-ip-count` actions all go through [`addr`].

pub mod addr;
pub mod ae_ids;
pub mod ids;
pub mod subnet;
