//! Teardown: stops the processes the state file records (only those, by pid and start time),
//! deletes the namespaces in reverse order of making (their links go with them) and the
//! root-namespace links, and sweeps the lab's own fixed names (`<prefix>-u`, `<prefix>-cK`)
//! in case the state file lost them. Every step tolerates what is already gone, so teardown
//! works after a crash of any process and of the program that built the lab, and can be run
//! again after a partial failure.

use std::fmt;
use std::time::Duration;

use crate::lab::Lab;
use crate::netns;
use crate::plan::parse_compute;
use crate::process;
use crate::state::LabState;

/// What a teardown did and what it could not do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Teardown {
    /// Processes that were running and were stopped.
    pub stopped: Vec<String>,
    /// Processes recorded but already ended (crashed, or killed by someone else).
    pub already_ended: Vec<String>,
    pub namespaces: Vec<String>,
    pub links: Vec<String>,
    /// What could not be removed, and why.
    pub problems: Vec<String>,
}

impl Teardown {
    pub fn clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Teardown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        write!(
            f,
            "stopped {}; already ended {}; removed namespaces {}; removed links {}",
            list(&self.stopped),
            list(&self.already_ended),
            list(&self.namespaces),
            list(&self.links)
        )?;
        for p in &self.problems {
            write!(f, "; PROBLEM: {p}")?;
        }
        Ok(())
    }
}

impl Lab {
    /// Removes what a lab with this prefix left when its state file is lost: the namespaces
    /// and the root link with the lab's fixed names (`<prefix>-u`, `<prefix>-cK`,
    /// `<prefix>-ul`). Workload namespaces and processes are known only to the state file, so
    /// they are not touched. `None` when nothing was found.
    pub fn sweep(prefix: &str, state_dir: &std::path::Path) -> crate::Result<Option<Teardown>> {
        crate::plan::check_prefix(prefix)?;
        if LabState::load(state_dir)?.is_some() {
            return Err(crate::LabError::Invalid(format!(
                "a lab is recorded in {}: take it down with Lab::open(..).down()",
                state_dir.display()
            )));
        }
        let plan = crate::Plan::new(prefix, 0)?;
        let found = netns::exists(&plan.underlay_ns())
            || netns::link_exists(None, &plan.root_link())
            || netns::list().iter().any(|ns| {
                ns.strip_prefix(&format!("{prefix}-"))
                    .is_some_and(|rest| parse_compute(rest).is_some())
            });
        if !found {
            return Ok(None);
        }
        std::fs::create_dir_all(state_dir)
            .map_err(|e| crate::LabError::file("creating the state dir", state_dir, e))?;
        LabState::new(prefix, 0).save(state_dir)?;
        Ok(Some(Lab::open(state_dir)?.down()))
    }

    /// Removes everything the lab made and, when all of it is gone, its state file.
    pub fn down(mut self) -> Teardown {
        let report = self.teardown();
        self.keep();
        report
    }

    pub(crate) fn teardown(&mut self) -> Teardown {
        let mut report = Teardown::default();

        // Processes first: a namespace lives on while a process runs in it.
        for record in self.state.processes.clone().into_iter().rev() {
            let child = self.children.get_mut(&record.name);
            if process::stop(&record, child, Duration::from_secs(3)) {
                report.stopped.push(record.name.clone());
            } else {
                report.already_ended.push(record.name.clone());
            }
            self.children.remove(&record.name);
        }
        self.state.processes.clear();

        // Namespaces: the recorded ones newest first, then the lab's fixed names if the
        // state file lost them.
        let prefix = self.plan.prefix().to_string();
        let mut namespaces: Vec<String> = self.state.namespaces.iter().rev().cloned().collect();
        for ns in netns::list() {
            let ours = ns
                .strip_prefix(&format!("{prefix}-"))
                .is_some_and(|rest| rest == "u" || parse_compute(rest).is_some());
            if ours && !namespaces.contains(&ns) {
                namespaces.push(ns);
            }
        }
        let mut left = Vec::new();
        for ns in namespaces {
            if !netns::exists(&ns) {
                continue;
            }
            let holders = netns::pids(&ns);
            if !holders.is_empty() {
                report.problems.push(format!(
                    "namespace {ns} is still used by pids {holders:?}, which this lab did not \
                     start; its links stay until they end"
                ));
            }
            match netns::delete(&ns) {
                Ok(()) => report.namespaces.push(ns),
                Err(e) => {
                    report.problems.push(e.to_string());
                    left.push(ns);
                }
            }
        }

        let mut left_links = Vec::new();
        let mut links = self.state.root_links.clone();
        if !links.contains(&self.plan.root_link())
            && netns::link_exists(None, &self.plan.root_link())
        {
            links.push(self.plan.root_link());
        }
        for link in links {
            if netns::link_exists(None, &link) {
                let _ = crate::cmd::run("ip", &["link", "delete", &link]);
            }
            if netns::wait_link_gone(None, &link, Duration::from_secs(5)) {
                report.links.push(link);
            } else {
                report.problems.push(format!("link {link} is still there"));
                left_links.push(link);
            }
        }

        self.state.namespaces = left;
        self.state.root_links = left_links;
        if report.clean() {
            self.state.workloads.clear();
            self.state.computes.clear();
            if let Err(e) = LabState::remove(&self.dir) {
                report.problems.push(e.to_string());
            }
        } else if let Err(e) = self.save() {
            report.problems.push(e.to_string());
        }
        tracing::info!(prefix = %prefix, %report, "lab torn down");
        report
    }
}
