//! Argument types and the sandbox options shared by the subcommands.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use mung_runtime::{Mount, RuntimeBuilder};

/// A byte size such as `512M`, `1G`, `65536` or `64KiB`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        mung_runtime_server::parse_size(s).map(ByteSize)
    }
}

/// A deadline in seconds, such as `60`, `0.5` or `1e3`: positive and at
/// most [`Seconds::MAX`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Seconds(pub Duration);

impl Seconds {
    /// The longest deadline accepted (a year): longer ones are mistakes, and
    /// deadlines are added to clock readings, which must not overflow.
    const MAX: Duration = Duration::from_secs(365 * 24 * 3600);
}

impl std::str::FromStr for Seconds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
        if !(secs.is_finite() && secs > 0.0) {
            return Err(format!("{s:?} is not a positive number of seconds"));
        }
        match Duration::try_from_secs_f64(secs) {
            Ok(d) if !d.is_zero() && d <= Seconds::MAX => Ok(Seconds(d)),
            _ => Err(format!(
                "{s:?} is out of range: give more than 0 and at most {} seconds (a year)",
                Seconds::MAX.as_secs()
            )),
        }
    }
}

impl std::fmt::Display for ByteSize {
    /// The largest unit that divides the size: `24M`, `1G`, `65536`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match [(30, "G"), (20, "M"), (10, "K")]
            .into_iter()
            .find(|(shift, _)| self.0 != 0 && self.0.is_multiple_of(1 << shift))
        {
            Some((shift, unit)) => write!(f, "{}{unit}", self.0 >> shift),
            None => write!(f, "{}", self.0),
        }
    }
}

/// `HOST[:GUEST][:ro|rw]`: a host directory granted to the guest, at GUEST
/// (an absolute path) or else at the host directory's own absolute path;
/// read-only unless `:rw`. GUEST starts after the last `:` that is followed
/// by `/`, so a host path holding `:/` needs an explicit GUEST.
#[derive(Clone, Debug)]
pub(crate) struct DirGrant(pub Mount);

impl std::str::FromStr for DirGrant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rest, writable) = match s.rsplit_once(':') {
            Some((p, "ro")) => (p, false),
            Some((p, "rw")) => (p, true),
            _ => (s, false),
        };
        let (path, guest) = match rest.rsplit_once(':') {
            Some((host, guest)) if guest.starts_with('/') && !host.is_empty() => (host, Some(guest)),
            _ => (rest, None),
        };
        let host = std::fs::canonicalize(path).map_err(|e| format!("cannot grant {path}: {e}"))?;
        if !host.is_dir() {
            return Err(format!("cannot grant {path}: not a directory"));
        }
        let guest = match guest {
            Some(g) if g.split('/').any(|c| c == "..") => {
                return Err(format!("cannot grant {path} at {g}: the guest path must not contain `..`"));
            }
            Some(g) => g.to_string(),
            None => host.to_str().ok_or_else(|| format!("cannot grant {path}: the path is not UTF-8"))?.to_string(),
        };
        Ok(DirGrant(Mount { host, guest, writable }))
    }
}

/// Limits of the sandbox, shared by the subcommands.
#[derive(Args, Clone, Debug)]
pub(crate) struct SandboxArgs {
    /// Wall-clock deadline of each call, in seconds (stops busy loops and
    /// blocking calls alike).
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub timeout: Seconds,

    /// Memory cap of each sandboxed interpreter, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    pub memory: ByteSize,

    /// Give each call this much fuel (about one unit per wasm instruction).
    /// Fuel needs a separately compiled interpreter (compiled once).
    #[arg(long, value_name = "UNITS")]
    pub fuel: Option<u64>,

    /// Use the Python packages in DIR instead of the built-in `mstudio`
    /// (the pre-initialised snapshot is rebuilt when DIR's contents change).
    #[arg(long, value_name = "DIR")]
    pub packages: Option<PathBuf>,
}

impl SandboxArgs {
    pub(crate) fn builder(&self, cache_dir: Option<PathBuf>) -> Result<RuntimeBuilder, String> {
        let mut b = mung_runtime::Runtime::builder().timeout(self.timeout.0).memory_limit(self.memory.0);
        if let Some(dir) = cache_dir {
            b = b.cache_dir(dir);
        }
        if let Some(fuel) = self.fuel {
            b = b.fuel(fuel);
        }
        if let Some(dir) = &self.packages {
            b = b.packages_dir(dir);
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> Result<u64, String> {
        s.parse::<ByteSize>().map(|b| b.0)
    }

    #[test]
    fn sizes_take_binary_units_in_any_case() {
        assert_eq!(size("65536"), Ok(65536));
        assert_eq!(size("12b"), Ok(12));
        assert_eq!(size("64KiB"), Ok(64 << 10));
        assert_eq!(size("512M"), Ok(512 << 20));
        assert_eq!(size(" 1g "), Ok(1 << 30));
        assert_eq!(size("2 GB"), Ok(2 << 30));
    }

    #[test]
    fn sizes_print_as_they_parse() {
        for text in ["24M", "1G", "64K", "65537", "0"] {
            assert_eq!(text.parse::<ByteSize>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert!(size("").unwrap_err().contains("not a size"));
        assert!(size("M").unwrap_err().contains("not a size"));
        assert!(size("-1M").unwrap_err().contains("not a size"));
        assert!(size("1.5G").unwrap_err().contains("unknown size unit"));
        assert!(size("3T").unwrap_err().contains("unknown size unit"));
        assert!(size("99999999999G").unwrap_err().contains("too large"));
    }

    #[test]
    fn deadlines_are_positive_finite_and_at_most_a_year() {
        let secs = |s: &str| s.parse::<Seconds>().map(|d| d.0);
        assert_eq!(secs("60"), Ok(Duration::from_secs(60)));
        assert_eq!(secs("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(secs("1e3"), Ok(Duration::from_secs(1000)));
        for bad in ["0", "-1", "nan", "NaN", "inf", "-inf", "1e20", "1e-12", "ten", ""] {
            assert!(secs(bad).is_err(), "{bad} was accepted");
        }
        assert!(secs("1e20").unwrap_err().contains("out of range"));
    }

    fn grant(s: &str) -> Result<Mount, String> {
        s.parse::<DirGrant>().map(|g| g.0)
    }

    #[test]
    fn grants_name_host_guest_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().canonicalize().unwrap();
        let h = host.to_str().unwrap();
        assert_eq!(grant(h), Ok(Mount::read_only(&host, h)));
        assert_eq!(grant(&format!("{h}:rw")), Ok(Mount::read_write(&host, h)));
        assert_eq!(grant(&format!("{h}:/data")), Ok(Mount::read_only(&host, "/data")));
        assert_eq!(grant(&format!("{h}:/data:ro")), Ok(Mount::read_only(&host, "/data")));
        assert_eq!(grant(&format!("{h}:/data:rw")), Ok(Mount::read_write(&host, "/data")));
        // A relative host path is made absolute; so is the default guest path.
        let sub = host.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let rel = format!("{h}/./sub");
        assert_eq!(grant(&rel), Ok(Mount::read_only(&sub, sub.to_str().unwrap())));
    }

    #[test]
    fn bad_grants_are_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().to_str().unwrap();
        assert!(grant(&format!("{h}/missing")).unwrap_err().contains("cannot grant"));
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(grant(file.to_str().unwrap()).unwrap_err().contains("not a directory"));
        assert!(grant(&format!("{h}:/a/../etc")).unwrap_err().contains("must not contain `..`"));
    }
}
