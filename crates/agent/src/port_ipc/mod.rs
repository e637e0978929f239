//! Contrail port IPC (in progress).
