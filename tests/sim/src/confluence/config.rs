//! What a simulated site is: its flavour (Cloud, Server, Data Center), how much content it
//! holds, the seed that makes it reproducible, and the behaviours a test can switch (latency,
//! quirks, search-index lag). Everything the simulator generates follows from a
//! [`SimConfig`], so two simulators started with the same config serve byte-identical sites.

use std::fmt;
use std::time::Duration;

/// Which Confluence product the simulator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Confluence Cloud: everything under `/wiki`, v1 + v2 REST, accountIds, API tokens.
    Cloud,
    /// Confluence Server: v1 REST only, basic auth, usernames and userKeys.
    Server,
    /// Confluence Data Center: as Server, plus personal access tokens and (from 9.1) the
    /// space-permissions REST API.
    DataCenter,
}

impl Flavour {
    /// Parses the command-line spelling (`cloud`, `server`, `data-center`).
    pub fn parse(text: &str) -> Option<Flavour> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "cloud" => Some(Flavour::Cloud),
            "server" => Some(Flavour::Server),
            "data-center" | "datacenter" | "dc" => Some(Flavour::DataCenter),
            _ => None,
        }
    }

    /// `true` for Server and Data Center (the self-hosted products).
    pub fn is_self_hosted(self) -> bool {
        !matches!(self, Flavour::Cloud)
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Cloud => "cloud",
            Flavour::Server => "server",
            Flavour::DataCenter => "data-center",
        })
    }
}

/// How much content a generated site holds (the same shapes as Elastic's ftest fixture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// 10 spaces × (25 pages + 25 blog posts) × 2 attachments = 1,510 documents.
    Small,
    /// 10 spaces × (50 pages + 50 blog posts) × 4 attachments = 5,010 documents.
    Medium,
    /// 10 spaces × (500 pages + 500 blog posts) × 4 attachments = 50,010 documents.
    Large,
}

impl Size {
    /// Parses the command-line spelling (`small`, `medium`, `large`).
    pub fn parse(text: &str) -> Option<Size> {
        match text.to_ascii_lowercase().as_str() {
            "small" => Some(Size::Small),
            "medium" => Some(Size::Medium),
            "large" => Some(Size::Large),
            _ => None,
        }
    }

    /// (spaces, pages per space, blog posts per space, attachments per page or blog post).
    pub fn shape(self) -> (u32, u64, u64, u32) {
        match self {
            Size::Small => (10, 25, 25, 2),
            Size::Medium => (10, 50, 50, 4),
            Size::Large => (10, 500, 500, 4),
        }
    }
}

/// How large the generated attachment files are (the regular ones: the edge cases — the file
/// over 10 MB, the awkward names — keep their sizes). Whatever the sizes, a file is made from
/// its seed when it is downloaded, never kept: a site of large files costs no memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AttachmentSizes {
    /// 2–62 KB each: the fixture's (the default).
    #[default]
    Small,
    /// Every file about this many bytes (`8MiB`): what peak memory follows when downloads
    /// are bounded by count only.
    All(u64),
    /// A realistic mix: most files small, a tail of large ones — 80 % 2–62 KB, 15 %
    /// 64 KiB–1 MiB, 5 % 1–50 MiB (spread evenly by their logarithm).
    Mix,
}

impl AttachmentSizes {
    /// Parses the command-line spelling: `small`, `mix`, or a size (`8MiB`, `512KiB`,
    /// `1000000`).
    pub fn parse(text: &str) -> Option<AttachmentSizes> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "small" => return Some(AttachmentSizes::Small),
            "mix" => return Some(AttachmentSizes::Mix),
            _ => {}
        }
        let (number, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => lower.split_at(at),
            None => (lower.as_str(), ""),
        };
        let unit = match unit {
            "" | "b" => 1,
            "k" | "kib" => 1024,
            "m" | "mib" => 1024 * 1024,
            _ => return None,
        };
        number.parse::<u64>().ok().map(|n| AttachmentSizes::All(n * unit))
    }

    /// The size of the file whose derived value is `draw` (uniform over `u64`).
    pub fn pick(self, draw: u64) -> u64 {
        const MIB: u64 = 1024 * 1024;
        let small = 2_000 + draw % 60_000;
        match self {
            AttachmentSizes::Small => small,
            AttachmentSizes::All(size) => size,
            AttachmentSizes::Mix => {
                // The high bits pick the class, the low ones the size within it.
                let class = (draw >> 48) % 100;
                let fraction = (draw & 0xFFFF_FFFF) as f64 / f64::from(u32::MAX);
                let log_between = |lo: u64, hi: u64| {
                    ((lo as f64).ln() + fraction * ((hi as f64).ln() - (lo as f64).ln())).exp() as u64
                };
                match class {
                    0..=79 => small,
                    80..=94 => log_between(64 * 1024, MIB),
                    _ => log_between(MIB, 50 * MIB),
                }
            }
        }
    }
}

/// Everything that defines a simulated site and how it behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The product imitated.
    pub flavour: Flavour,
    /// The generated content volume (ignored when `pages` is set).
    pub size: Size,
    /// Overrides `size`: this many pages (no blog posts, one attachment every tenth page),
    /// spread over 10 spaces; bodies are derived from (seed, id) on each request.
    pub pages: Option<u64>,
    /// Sizes of the regular attachment files.
    pub attachment_sizes: AttachmentSizes,
    /// With `pages`: how many files each tenth page carries (1; at most 16). The same bytes
    /// in more, smaller files: `All(8 MiB)` × 1 against `All(1 MiB)` × 8.
    pub files_per_attached_page: u32,
    /// Seed of every generated name, date, body and file.
    pub seed: u64,
    /// Added to every request before it is answered.
    pub latency: Duration,
    /// `""` or e.g. `"/confluence"` (Server/DC only; Cloud always serves under `/wiki`).
    pub context_path: String,
    /// The site's time zone: DC timestamps carry its offset and CQL dates are read in it.
    pub time_zone: chrono_tz::Tz,
    /// Data Center version (major, minor); the space-permissions REST API exists from 9.1.
    pub dc_version: (u32, u32),
    /// Whether the Extender for Confluence plugin is installed (Server/DC); 404 otherwise.
    pub extender: bool,
    /// Whether the known Server/DC pagination bugs are imitated (page-size caps, wrong
    /// `_links.next`). Default `true`.
    pub quirks: bool,
    /// How long CQL search lags behind edits (zero: searches see edits at once).
    pub search_lag: Duration,
    /// Cloud: whether v1 `restriction/byOperation` answers for folders (`true`, the
    /// default) or 404s for them while they exist.
    pub v1_folder_restrictions: bool,
    /// Port of the main listener (0 = a free port chosen by the system).
    pub port: u16,
}

impl SimConfig {
    /// A site of the given flavour and size with the defaults: seed 42, no latency, no
    /// context path, time zone Australia/Sydney, DC 9.2, no Extender, quirks on, no lag.
    pub fn new(flavour: Flavour, size: Size) -> Self {
        SimConfig {
            flavour,
            size,
            pages: None,
            attachment_sizes: AttachmentSizes::Small,
            files_per_attached_page: 1,
            seed: 42,
            latency: Duration::ZERO,
            context_path: String::new(),
            time_zone: chrono_tz::Australia::Sydney,
            dc_version: (9, 2),
            extender: false,
            quirks: true,
            search_lag: Duration::ZERO,
            v1_folder_restrictions: true,
            port: 0,
        }
    }

    /// The context path normalised to `""` or `"/name"` (always `""` for Cloud).
    pub fn normalized_context_path(&self) -> String {
        if self.flavour == Flavour::Cloud {
            return String::new();
        }
        let trimmed = self.context_path.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        }
    }
}

/// The credentials the simulator accepts. `Debug` hides every secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Cloud: the account e-mail of the site administrator.
    pub email: String,
    /// Cloud: the API token for `email`.
    pub api_token: String,
    /// Server/DC: the administrator's username.
    pub username: String,
    /// Server/DC: the administrator's password.
    pub password: String,
    /// Data Center: a personal access token of the administrator (`Authorization: Bearer`).
    pub pat: String,
    /// Server/DC: a username that is not a site administrator (sees CONFSERVER-99908).
    pub user_username: String,
    /// Password of `user_username`.
    pub user_password: String,
    /// Cloud: the regular user's e-mail.
    pub user_email: String,
    /// Cloud: the regular user's API token.
    pub user_api_token: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("api_token", &"<redacted>")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("pat", &"<redacted>")
            .field("user_username", &self.user_username)
            .field("user_password", &"<redacted>")
            .field("user_email", &self.user_email)
            .field("user_api_token", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavour_and_size_parse_command_line_spellings() {
        assert_eq!(Flavour::parse("data-center"), Some(Flavour::DataCenter));
        assert_eq!(Flavour::parse("Cloud"), Some(Flavour::Cloud));
        assert_eq!(Flavour::parse("jira"), None);
        assert_eq!(Size::parse("medium"), Some(Size::Medium));
        assert_eq!(Size::parse("huge"), None);
    }

    #[test]
    fn attachment_sizes_parse_and_pick() {
        assert_eq!(AttachmentSizes::parse("8MiB"), Some(AttachmentSizes::All(8 * 1024 * 1024)));
        assert_eq!(AttachmentSizes::parse("512k"), Some(AttachmentSizes::All(512 * 1024)));
        assert_eq!(AttachmentSizes::parse("1000"), Some(AttachmentSizes::All(1000)));
        assert_eq!(AttachmentSizes::parse("mix"), Some(AttachmentSizes::Mix));
        assert_eq!(AttachmentSizes::parse("8GB"), None);
        assert_eq!(AttachmentSizes::All(7).pick(123), 7);
        let draws = (0..10_000u64).map(|i| crate::confluence::generate::mix(i, 99));
        let sizes: Vec<u64> = draws.map(|d| AttachmentSizes::Mix.pick(d)).collect();
        let large = sizes.iter().filter(|&&s| s >= 1024 * 1024).count();
        let small = sizes.iter().filter(|&&s| s < 62_000).count();
        assert!((7_500..8_500).contains(&small), "{small}");
        assert!((300..700).contains(&large), "{large}");
        assert!(sizes.iter().all(|&s| s <= 50 * 1024 * 1024 + 1));
        assert!(sizes.iter().any(|&s| s > 20 * 1024 * 1024));
    }

    #[test]
    fn context_path_is_normalised_and_ignored_on_cloud() {
        let mut config = SimConfig::new(Flavour::Server, Size::Small);
        config.context_path = "confluence/".into();
        assert_eq!(config.normalized_context_path(), "/confluence");
        config.flavour = Flavour::Cloud;
        assert_eq!(config.normalized_context_path(), "");
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let credentials = Credentials {
            email: "a@b".into(),
            api_token: "tok-secret".into(),
            username: "admin".into(),
            password: "pw-secret".into(),
            pat: "pat-secret".into(),
            user_username: "u".into(),
            user_password: "upw-secret".into(),
            user_email: "u@b".into(),
            user_api_token: "utok-secret".into(),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
