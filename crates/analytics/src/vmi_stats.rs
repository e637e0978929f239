//! Per-interface counters a vrouter exports every interval: one sample per port (Contrail's
//! `VMIStats` UVE, whose `raw_if_stats` and `raw_drop_stats` attributes feed the StatTables
//! `StatTable.VMIStats.raw_if_stats` and `StatTable.VMIStats.raw_drop_stats`). Counters
//! are deltas since the port's previous sample, so `SUM(...)` over a time range is the
//! traffic in that range. `in` is what the port received from its workload, `out` what the
//! vrouter sent to it (Contrail's `VmInterfaceStats`). With the `server` feature, a sample
//! becomes one row of the `vmi_stats` dataset ([`push_row`]).

/// One port's counters over one export interval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmiStatsSample {
    /// When the sample was taken, microseconds since the epoch (`T`).
    pub t_us: u64,
    /// The exporting vrouter's hostname (`Source`).
    pub vrouter: String,
    /// The virtual-machine-interface's fq_name, `:`-joined (`name`, the UVE key).
    pub name: String,
    /// The virtual-machine-interface's uuid.
    pub vmi_uuid: String,
    /// Its virtual network's fq_name ("" while the port has no network yet).
    pub virtual_network: String,
    pub in_pkts: u64,
    pub in_bytes: u64,
    pub out_pkts: u64,
    pub out_bytes: u64,
    /// Packets received on the port and dropped (`AgentDropStats.ds_drop_pkts`).
    pub drop_pkts: u64,
}

/// A [`VmiStatsSample`] borrowed from a wire frame (or from an owned sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmiStatsRef<'a> {
    pub t_us: u64,
    pub vrouter: &'a str,
    pub name: &'a str,
    pub vmi_uuid: &'a str,
    pub virtual_network: &'a str,
    pub in_pkts: u64,
    pub in_bytes: u64,
    pub out_pkts: u64,
    pub out_bytes: u64,
    pub drop_pkts: u64,
}

impl VmiStatsSample {
    pub fn as_ref(&self) -> VmiStatsRef<'_> {
        VmiStatsRef {
            t_us: self.t_us,
            vrouter: &self.vrouter,
            name: &self.name,
            vmi_uuid: &self.vmi_uuid,
            virtual_network: &self.virtual_network,
            in_pkts: self.in_pkts,
            in_bytes: self.in_bytes,
            out_pkts: self.out_pkts,
            out_bytes: self.out_bytes,
            drop_pkts: self.drop_pkts,
        }
    }

    /// True when nothing moved in the interval.
    pub fn is_idle(&self) -> bool {
        self.in_pkts == 0 && self.out_pkts == 0 && self.drop_pkts == 0
    }
}

impl VmiStatsRef<'_> {
    pub fn to_owned_sample(&self) -> VmiStatsSample {
        VmiStatsSample {
            t_us: self.t_us,
            vrouter: self.vrouter.to_owned(),
            name: self.name.to_owned(),
            vmi_uuid: self.vmi_uuid.to_owned(),
            virtual_network: self.virtual_network.to_owned(),
            in_pkts: self.in_pkts,
            in_bytes: self.in_bytes,
            out_pkts: self.out_pkts,
            out_bytes: self.out_bytes,
            drop_pkts: self.drop_pkts,
        }
    }
}

/// Appends the row of `s` to an open batch of the `vmi_stats` dataset, in the column order
/// of [`crate::schema::VMI_STATS`].
#[cfg(feature = "server")]
pub fn push_row(b: &mut crate::columns::Batch, s: &VmiStatsRef<'_>) {
    b.row()
        .int(s.t_us as i64)
        .str(s.vrouter)
        .str(s.name)
        .str(s.vmi_uuid)
        .str(s.virtual_network)
        .int(s.in_pkts as i64)
        .int(s.in_bytes as i64)
        .int(s.out_pkts as i64)
        .int(s.out_bytes as i64)
        .int(s.drop_pkts as i64)
        .end();
}
