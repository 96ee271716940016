//! The process's own series, under the names every Prometheus client uses (`process_*`, no
//! prefix): resident and virtual memory, CPU seconds, open file descriptors and start time,
//! read from `/proc/self` at each scrape. Elsewhere than Linux they stay at zero.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The `process_*` series and their registry.
#[derive(Debug)]
pub(super) struct ProcessMetrics {
    /// The series below, unprefixed.
    pub(super) registry: Registry,
    resident: Gauge,
    virtual_memory: Gauge,
    cpu: Counter<f64, AtomicU64>,
    open_fds: Gauge,
    start_time: Gauge<f64, AtomicU64>,
}

impl ProcessMetrics {
    /// Every series registered, at zero until the first [`ProcessMetrics::refresh`].
    pub(super) fn new() -> ProcessMetrics {
        let mut registry = Registry::default();
        let resident = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            resident.clone(),
        );
        let virtual_memory = Gauge::default();
        registry.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size",
            Unit::Bytes,
            virtual_memory.clone(),
        );
        let cpu = Counter::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time spent",
            Unit::Seconds,
            cpu.clone(),
        );
        let open_fds = Gauge::default();
        registry.register("process_open_fds", "Open file descriptors", open_fds.clone());
        let start_time = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Unit::Seconds,
            start_time.clone(),
        );
        ProcessMetrics { registry, resident, virtual_memory, cpu, open_fds, start_time }
    }

    /// Reads `/proc/self` into the series (nothing changes where it cannot be read).
    pub(super) fn refresh(&self) {
        let Some(sample) = Sample::read() else { return };
        self.resident.set(i64::try_from(sample.resident_bytes).unwrap_or(i64::MAX));
        self.virtual_memory.set(i64::try_from(sample.virtual_bytes).unwrap_or(i64::MAX));
        let more = sample.cpu_seconds - self.cpu.get();
        if more > 0.0 {
            self.cpu.inc_by(more);
        }
        self.open_fds.set(i64::try_from(sample.open_fds).unwrap_or(i64::MAX));
        self.start_time.set(sample.start_time_seconds);
    }
}

/// One reading of `/proc/self`.
struct Sample {
    resident_bytes: u64,
    virtual_bytes: u64,
    cpu_seconds: f64,
    open_fds: usize,
    start_time_seconds: f64,
}

impl Sample {
    fn read() -> Option<Sample> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot_time = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
        // SAFETY: sysconf only reads a system constant.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        parse(&stat, &boot_time, ticks as f64, page.max(0) as u64, open_fds)
    }
}

/// The sample from the text of `/proc/self/stat` and `/proc/stat`.
fn parse(
    stat: &str,
    proc_stat: &str,
    ticks_per_second: f64,
    page_size: u64,
    open_fds: usize,
) -> Option<Sample> {
    if ticks_per_second <= 0.0 {
        return None;
    }
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (state); field n is at n - 3.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let boot_seconds: u64 = proc_stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    Some(Sample {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks_per_second,
        start_time_seconds: boot_seconds as f64 + field(22)? as f64 / ticks_per_second,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)?.saturating_mul(page_size),
        open_fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_is_read_after_the_command_name() {
        let stat = "4242 (confluence (x) c) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 1000 104857600 2560 18446744073709551615";
        let sample = parse(stat, "cpu 1 2 3\nbtime 1767261600\n", 100.0, 4096, 7).unwrap();
        assert_eq!(sample.cpu_seconds, 3.0);
        assert_eq!(sample.start_time_seconds, 1_767_261_610.0);
        assert_eq!(sample.virtual_bytes, 104_857_600);
        assert_eq!(sample.resident_bytes, 2560 * 4096);
        assert_eq!(sample.open_fds, 7);
    }
}
