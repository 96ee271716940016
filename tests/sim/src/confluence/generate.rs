//! Builds a [`Site`] from a [`SimConfig`]: the regular part (10 spaces of page trees, blog
//! posts, attachments, footer comments, labels) sized like Elastic's ftest fixture, and in
//! every size the cases connectors get wrong — a personal space, an archived space, trashed
//! content, unicode and 255-character titles, a very large page, an attachment over 10 MB,
//! a ten-level page chain, read restrictions nested down a tree, inactive users and app
//! accounts. Everything is a pure function of the seed.

use std::collections::BTreeSet;

use super::config::{AttachmentSizes, Flavour, SimConfig};
use super::model::{
    AccountType, AttachmentFormat, Body, Content, ContentKind, ContentStatus, FileInfo, Group,
    ReadRestriction, Site, Space, SpacePermission, SpaceStatus, SpaceType, Subject, User,
};

/// Start of the generated history (2021-01-01T00:00:00Z), ms since the epoch.
pub const HISTORY_START: i64 = 1_609_459_200_000;
/// End of the generated history (2025-06-01T00:00:00Z), ms since the epoch.
pub const HISTORY_END: i64 = 1_748_736_000_000;

/// The key of the archived space present in every generated site.
pub const ARCHIVED_SPACE_KEY: &str = "ARCHIVE";
/// The title of the very large page (several MB of storage format).
pub const LARGE_PAGE_TITLE: &str = "Very large page: full requirements catalogue";
/// The file name of the attachment over 10 MB.
pub const LARGE_ATTACHMENT_NAME: &str = "full-export-2024.csv";
/// The size asked for the attachment over 10 MB.
pub const LARGE_ATTACHMENT_SIZE: u64 = 10 * 1024 * 1024 + 512 * 1024;
/// The unicode title present in the first space.
pub const UNICODE_TITLE: &str = "Ünïcödé Überblick — 日本語のページ · Привет мир 🚀 (R&D <notes>)";

const SPACE_NAMES: [(&str, &str); 10] = [
    ("ENG", "Engineering"),
    ("MKT", "Marketing"),
    ("SALES", "Sales"),
    ("SUP", "Customer Support"),
    ("DES", "Design"),
    ("FIN", "Finance"),
    ("LEGAL", "Legal"),
    ("HR", "Human Resources"),
    ("OPS", "Operations"),
    ("PROD", "Product Management"),
];

const TEAM_GROUPS: [&str; 8] =
    ["engineering", "marketing", "sales", "support", "design", "finance", "legal", "people-ops"];

const FIRST_NAMES: [&str; 16] = [
    "Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
    "Olivia", "Peggy", "Rupert", "Sybil",
];
const LAST_NAMES: [&str; 12] = [
    "Smith", "Jones", "Nguyen", "Müller", "García", "Kowalski", "Tanaka", "Okafor", "Larsen", "Rossi",
    "Dubois", "O'Brien",
];

/// A 64-bit mixing function (splitmix64 of `a ^ b`), the source of every derived value.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hex(value: u64, digits: usize) -> String {
    let mut text = String::new();
    let mut state = value;
    while text.len() < digits {
        text.push_str(&format!("{state:016x}"));
        state = mix(state, 1);
    }
    text.truncate(digits);
    text
}

fn uuid(value: u64) -> String {
    let h = hex(value, 32);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The secrets of the generated administrator and first regular user, derived from the seed.
pub fn secret(seed: u64, what: &str) -> String {
    let salt = what.bytes().fold(0u64, |acc, b| mix(acc, u64::from(b)));
    format!("{what}-{}", hex(mix(seed, salt), 24))
}

/// Builds the site described by `config`.
pub fn generate(config: &SimConfig) -> Site {
    let mut builder = Builder::new(config);
    builder.users_and_groups();
    builder.regular_spaces();
    builder.edge_cases();
    builder.site
}

struct Builder {
    site: Site,
    seed: u64,
    pages_per_space: Vec<u64>,
    blogposts_per_space: u64,
    attachments_per_item: u32,
    attachment_every_tenth_page: bool,
    files_per_attached_page: u32,
    attachment_sizes: AttachmentSizes,
    comments: bool,
}

impl Builder {
    fn new(config: &SimConfig) -> Builder {
        let (spaces, pages, blogposts, attachments) = config.size.shape();
        let (pages_per_space, blogposts_per_space, attachments_per_item, tenth, comments) = match config.pages
        {
            Some(total) => {
                let per = total / u64::from(spaces);
                let extra = total % u64::from(spaces);
                let counts = (0..u64::from(spaces)).map(|i| per + u64::from(i < extra)).collect();
                (counts, 0, 0, true, false)
            }
            None => (vec![pages; spaces as usize], blogposts, attachments, false, true),
        };
        Builder {
            site: Site {
                flavour: config.flavour,
                seed: config.seed,
                time_zone: config.time_zone,
                spaces: Default::default(),
                space_keys: Default::default(),
                content: Default::default(),
                users: Vec::new(),
                groups: Vec::new(),
                next_id: 163_841,
                generation: 0,
                clock_offset_ms: 0,
            },
            seed: config.seed,
            pages_per_space,
            blogposts_per_space,
            attachments_per_item,
            attachment_every_tenth_page: tenth,
            files_per_attached_page: config.files_per_attached_page.clamp(1, 16),
            attachment_sizes: config.attachment_sizes,
            comments,
        }
    }

    fn h(&self, a: u64, b: u64) -> u64 {
        mix(mix(self.seed, a), b)
    }

    fn users_and_groups(&mut self) {
        let total_pages: u64 = self.pages_per_space.iter().sum();
        let count: u32 = match total_pages {
            0..=300 => 40,
            301..=1000 => 80,
            _ => 300,
        };
        for i in 0..count {
            let (username, display_name) = match i {
                0 => ("admin".to_string(), "Alice Admin".to_string()),
                1 => ("jdoe".to_string(), "John Doe".to_string()),
                2 => ("automation".to_string(), "Automation for Confluence".to_string()),
                _ => {
                    let first = FIRST_NAMES[(i as usize) % FIRST_NAMES.len()];
                    let last = LAST_NAMES[(i as usize / FIRST_NAMES.len()) % LAST_NAMES.len()];
                    (format!("{}.{}{}", first.to_lowercase(), ascii_slug(last), i), format!("{first} {last}"))
                }
            };
            let account_type =
                if i == 2 || (i > 2 && i % 17 == 0) { AccountType::App } else { AccountType::Atlassian };
            let account_id = match account_type {
                AccountType::App => format!("557058:{}", uuid(self.h(0xA11, u64::from(i)))),
                AccountType::Atlassian => hex(self.h(0xACC, u64::from(i)), 24),
            };
            let password = match i {
                0 => secret(self.seed, "admin-password"),
                1 => secret(self.seed, "jdoe-password"),
                _ => secret(self.seed ^ u64::from(i), "password"),
            };
            self.site.users.push(User {
                email: format!("{username}@example.com"),
                username,
                user_key: hex(self.h(0x5EE, u64::from(i)), 32),
                account_id,
                display_name,
                active: i < 3 || i % 9 != 0,
                account_type,
                site_admin: i == 0,
                password,
                api_token: secret(self.seed ^ u64::from(i), "api-token"),
                pat: secret(self.seed ^ u64::from(i), "pat"),
                removed: false,
            });
        }
        let push_group = |site: &mut Site, name: &str, members: BTreeSet<u32>, salt: u64| {
            site.groups.push(Group {
                name: name.to_string(),
                id: uuid(mix(self.seed, salt)),
                members,
                removed: false,
            });
        };
        let everyone: BTreeSet<u32> = (0..count)
            .filter(|&i| self.site.users[i as usize].account_type == AccountType::Atlassian)
            .collect();
        push_group(&mut self.site, "confluence-users", everyone, 0x6001);
        push_group(&mut self.site, "confluence-administrators", [0u32].into_iter().collect(), 0x6002);
        for (t, name) in TEAM_GROUPS.iter().enumerate() {
            let members: BTreeSet<u32> = (1..count)
                .filter(|&i| i as usize % TEAM_GROUPS.len() == t || (i as usize * 7) % TEAM_GROUPS.len() == t)
                .filter(|&i| self.site.users[i as usize].account_type == AccountType::Atlassian)
                .collect();
            push_group(&mut self.site, name, members, 0x6100 + t as u64);
        }
        // A group with a slash in its name (breaks naive `/group/{name}/member` clients).
        push_group(
            &mut self.site,
            "contractors/external",
            [3u32, 4].into_iter().filter(|&i| i < count).collect(),
            0x6200,
        );
    }

    fn group_index(&self, name: &str) -> u32 {
        self.site.find_group(name).unwrap_or(0)
    }

    fn add_space(
        &mut self,
        key: &str,
        name: &str,
        space_type: SpaceType,
        status: SpaceStatus,
        creator: u32,
    ) -> u64 {
        let id = self.site.allocate_id();
        let created = HISTORY_START + (self.h(0x5A, id) % 86_400_000) as i64;
        self.site.spaces.insert(
            id,
            Space {
                id,
                key: key.to_string(),
                name: name.to_string(),
                space_type,
                status,
                description: format!("The {name} space: plans, notes and reports."),
                homepage: None,
                created,
                creator,
                permissions: Vec::new(),
                pages: BTreeSet::new(),
                blogposts: BTreeSet::new(),
                attachments: BTreeSet::new(),
                comments: BTreeSet::new(),
                folders: BTreeSet::new(),
            },
        );
        self.site.space_keys.insert(key.to_string(), id);
        id
    }

    fn grant(&mut self, space_id: u64, subject: Subject, operations: &[(&str, &str)]) {
        for (operation, target) in operations {
            let id = self.site.allocate_id();
            if let Some(space) = self.site.spaces.get_mut(&space_id) {
                space.permissions.push(SpacePermission {
                    id,
                    subject,
                    operation: operation.to_string(),
                    target: target.to_string(),
                });
            }
        }
    }

    fn add_content(
        &mut self,
        kind: ContentKind,
        space_id: u64,
        parent: Option<u64>,
        title: String,
        paragraphs: u32,
        file: Option<(AttachmentFormat, u64)>,
    ) -> u64 {
        let id = self.site.allocate_id();
        let users = self.site.users.len() as u64;
        let parent_created = parent.and_then(|p| self.site.content.get(&p)).map(|c| c.created);
        let floor = parent_created.unwrap_or(HISTORY_START);
        let created = floor + (self.h(0xC1, id) % ((HISTORY_END - floor) as u64 / 2).max(1)) as i64;
        let modified = created + (self.h(0xC2, id) % (HISTORY_END - created).max(1) as u64) as i64;
        let version = 1 + (self.h(0xC3, id) % 5) as u32;
        let creator = (self.h(0xC4, id) % users) as u32;
        let modifier = if version == 1 { creator } else { (self.h(0xC5, id) % users) as u32 };
        let labels = match kind {
            ContentKind::Page | ContentKind::BlogPost => {
                let n = self.h(0xC6, id) % 3;
                (0..n)
                    .map(|k| {
                        super::body::WORDS[(self.h(0xC7 + k, id) % super::body::WORDS.len() as u64) as usize]
                            .to_string()
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        };
        let file = file.map(|(format, approx_size)| {
            Box::new(FileInfo {
                format,
                approx_size,
                exact_size: Default::default(),
                seed: self.h(0xF1, id),
                comment: if id.is_multiple_of(3) {
                    "Uploaded from the desktop".to_string()
                } else {
                    String::new()
                },
                file_id: uuid(self.h(0xF2, id)),
            })
        });
        let position =
            parent.and_then(|p| self.site.content.get(&p)).map(|c| c.children.len() as u32).unwrap_or(0);
        self.site.content.insert(
            id,
            Content {
                id,
                kind,
                space_id,
                parent,
                status: ContentStatus::Current,
                title,
                version,
                created,
                modified,
                creator,
                modifier,
                position,
                labels,
                restriction: None,
                body: Body::Generated { paragraphs },
                file,
                children: Vec::new(),
                attachments: Vec::new(),
                comments: Vec::new(),
            },
        );
        link_into_indexes(&mut self.site, id);
        id
    }

    fn attach(&mut self, container: u64, space_id: u64, index: u32) -> u64 {
        let format = AttachmentFormat::ALL[(mix(container, u64::from(index)) % 11) as usize];
        let approx = self.attachment_sizes.pick(self.h(0xA7, container * 16 + u64::from(index)));
        let stem = super::body::WORDS
            [(self.h(0xA8, container * 16 + u64::from(index)) % super::body::WORDS.len() as u64) as usize];
        let name = format!("{stem}-{container}-{index}.{}", format.extension());
        self.add_content(ContentKind::Attachment, space_id, Some(container), name, 0, Some((format, approx)))
    }

    fn regular_spaces(&mut self) {
        for (s, (key, name)) in SPACE_NAMES.iter().enumerate() {
            let creator = (s as u32 * 3) % self.site.users.len() as u32;
            let space_id = self.add_space(key, name, SpaceType::Global, SpaceStatus::Current, creator);
            self.space_permissions(s, space_id);
            let page_count = self.pages_per_space[s];
            let mut page_ids: Vec<u64> = Vec::with_capacity(page_count as usize);
            for i in 0..page_count {
                let (parent, title) = if i == 0 {
                    (None, format!("{name} Home"))
                } else {
                    let w1 = super::body::WORDS
                        [(self.h(0x71, (s as u64) << 32 | i) % super::body::WORDS.len() as u64) as usize];
                    let w2 = super::body::WORDS
                        [(self.h(0x72, (s as u64) << 32 | i) % super::body::WORDS.len() as u64) as usize];
                    (
                        Some(page_ids[((i - 1) / 2) as usize]),
                        format!("{} {} {} {i}", capitalize(w1), w2, key.to_lowercase()),
                    )
                };
                let paragraphs = 2 + (self.h(0x73, (s as u64) << 32 | i) % 6) as u32;
                let id = self.add_content(ContentKind::Page, space_id, parent, title, paragraphs, None);
                if i == 0 {
                    if let Some(space) = self.site.spaces.get_mut(&space_id) {
                        space.homepage = Some(id);
                    }
                }
                page_ids.push(id);
                if self.attachment_every_tenth_page && i % 10 == 9 {
                    for index in 0..self.files_per_attached_page {
                        self.attach(id, space_id, index);
                    }
                }
            }
            let mut blog_ids = Vec::new();
            for i in 0..self.blogposts_per_space {
                let word = super::body::WORDS
                    [(self.h(0x74, (s as u64) << 32 | i) % super::body::WORDS.len() as u64) as usize];
                let id = self.add_content(
                    ContentKind::BlogPost,
                    space_id,
                    None,
                    format!("{name} update {}: {word}", i + 1),
                    3,
                    None,
                );
                blog_ids.push(id);
            }
            for &container in page_ids.iter().chain(blog_ids.iter()) {
                for a in 0..self.attachments_per_item {
                    self.attach(container, space_id, a);
                }
                if self.comments {
                    for c in 0..(self.h(0x75, container) % 3) {
                        let title = format!("Re: comment {}", c + 1);
                        self.add_content(ContentKind::Comment, space_id, Some(container), title, 1, None);
                    }
                }
            }
            // Read restrictions: a restricted subtree (page 2) with a further restricted
            // child (page 5, child of 2), and one restricted blog post.
            let team = self.group_index(TEAM_GROUPS[s % TEAM_GROUPS.len()]);
            let user_a = 3 + (s as u32 % 10);
            let user_b = 13 + (s as u32 % 10);
            if let Some(&id) = page_ids.get(2) {
                self.restrict(id, vec![user_a], vec![team]);
            }
            if let Some(&id) = page_ids.get(5) {
                self.restrict(id, vec![user_b, 0], vec![]);
            }
            if let Some(&id) = blog_ids.get(3) {
                self.restrict(id, vec![user_a], vec![]);
            }
        }
    }

    fn restrict(&mut self, id: u64, users: Vec<u32>, groups: Vec<u32>) {
        let user_count = self.site.users.len() as u32;
        let users = users.into_iter().filter(|&u| u < user_count).collect();
        if let Some(content) = self.site.content.get_mut(&id) {
            content.restriction = Some(Box::new(ReadRestriction { users, groups }));
        }
    }

    fn space_permissions(&mut self, s: usize, space_id: u64) {
        const ALL_OPS: [(&str, &str); 8] = [
            ("read", "space"),
            ("create", "page"),
            ("create", "blogpost"),
            ("create", "comment"),
            ("create", "attachment"),
            ("delete", "page"),
            ("export", "space"),
            ("administer", "space"),
        ];
        let admins = self.group_index("confluence-administrators");
        self.grant(space_id, Subject::Group(admins), &ALL_OPS);
        let team = self.group_index(TEAM_GROUPS[s % TEAM_GROUPS.len()]);
        let next_team = self.group_index(TEAM_GROUPS[(s + 1) % TEAM_GROUPS.len()]);
        let everyone = self.group_index("confluence-users");
        match s % 3 {
            0 => self.grant(space_id, Subject::Group(everyone), &ALL_OPS[..5]),
            1 => {
                self.grant(space_id, Subject::Group(team), &ALL_OPS[..5]);
                let user = 3 + s as u32;
                if (user as usize) < self.site.users.len() {
                    self.grant(space_id, Subject::User(user), &ALL_OPS[..1]);
                }
            }
            _ => {
                self.grant(space_id, Subject::Group(team), &ALL_OPS[..5]);
                self.grant(space_id, Subject::Group(next_team), &ALL_OPS[..1]);
            }
        }
        if s == 5 {
            self.grant(space_id, Subject::Anonymous, &ALL_OPS[..1]);
        }
    }

    fn edge_cases(&mut self) {
        let Some(first_space) = self.site.space_keys.get(SPACE_NAMES[0].0).copied() else {
            return;
        };
        let home = self.site.spaces.get(&first_space).and_then(|s| s.homepage);
        // Unicode and maximum-length titles.
        self.add_content(ContentKind::Page, first_space, home, UNICODE_TITLE.to_string(), 3, None);
        let mut long_title = String::from("A very long title ");
        while long_title.chars().count() < 255 {
            long_title.push_str("that keeps going ");
        }
        let long_title: String = long_title.chars().take(255).collect();
        self.add_content(ContentKind::Page, first_space, home, long_title, 2, None);
        // A very large page (about 3 MB of storage format).
        self.add_content(ContentKind::Page, first_space, home, LARGE_PAGE_TITLE.to_string(), 5_000, None);
        // A ten-level chain.
        let mut parent = home;
        for level in 1..=10 {
            let id = self.add_content(
                ContentKind::Page,
                first_space,
                parent,
                format!("Deep chain level {level}"),
                1,
                None,
            );
            parent = Some(id);
        }
        // The attachment over 10 MB, on the home page.
        if let Some(home) = home {
            self.add_content(
                ContentKind::Attachment,
                first_space,
                Some(home),
                LARGE_ATTACHMENT_NAME.to_string(),
                0,
                Some((AttachmentFormat::Csv, LARGE_ATTACHMENT_SIZE)),
            );
            // File names that need URL encoding in download links.
            for (name, format) in [
                ("Quarterly report (final) v2.pdf", AttachmentFormat::Pdf),
                ("Überblick 日本 & notes #1.docx", AttachmentFormat::Docx),
            ] {
                self.add_content(
                    ContentKind::Attachment,
                    first_space,
                    Some(home),
                    name.to_string(),
                    0,
                    Some((format, 20_000)),
                );
            }
        }
        // Trashed content: two pages, a blog post and an attachment.
        let trashed_a = self.add_content(
            ContentKind::Page,
            first_space,
            home,
            "Old draft plan (trashed)".into(),
            1,
            None,
        );
        let trashed_b = self.add_content(
            ContentKind::Page,
            first_space,
            home,
            "Superseded notes (trashed)".into(),
            1,
            None,
        );
        let trashed_blog = self.add_content(
            ContentKind::BlogPost,
            first_space,
            None,
            "Retracted announcement (trashed)".into(),
            1,
            None,
        );
        // A live page whose parent is in the trash (CONFCLOUD-77618 territory).
        self.add_content(
            ContentKind::Page,
            first_space,
            Some(trashed_a),
            "Survivor under a trashed page".into(),
            1,
            None,
        );
        let mut trashed = vec![trashed_a, trashed_b, trashed_blog];
        if let Some(home) = home {
            trashed.push(self.attach(home, first_space, 9));
        }
        for id in trashed {
            if let Some(content) = self.site.content.get_mut(&id) {
                content.status = ContentStatus::Trashed;
            }
        }
        // The administrator's personal space.
        let admin = &self.site.users[0];
        let (key, owner_name) = match self.site.flavour {
            Flavour::Cloud => (format!("~{}", admin.account_id), admin.display_name.clone()),
            _ => (format!("~{}", admin.username), admin.display_name.clone()),
        };
        let personal = self.add_space(&key, &owner_name, SpaceType::Personal, SpaceStatus::Current, 0);
        self.grant(
            personal,
            Subject::User(0),
            &[("read", "space"), ("create", "page"), ("administer", "space")],
        );
        let home = self.add_content(ContentKind::Page, personal, None, format!("{owner_name} Home"), 2, None);
        if let Some(space) = self.site.spaces.get_mut(&personal) {
            space.homepage = Some(home);
        }
        self.add_content(ContentKind::Page, personal, Some(home), "Personal to-do list".into(), 1, None);
        self.add_content(ContentKind::BlogPost, personal, None, "Thoughts on the quarter".into(), 2, None);
        // An archived space.
        let archived = self.add_space(
            ARCHIVED_SPACE_KEY,
            "Archived Projects",
            SpaceType::Global,
            SpaceStatus::Archived,
            0,
        );
        let everyone = self.group_index("confluence-users");
        self.grant(archived, Subject::Group(everyone), &[("read", "space")]);
        let home =
            self.add_content(ContentKind::Page, archived, None, "Archived Projects Home".into(), 2, None);
        if let Some(space) = self.site.spaces.get_mut(&archived) {
            space.homepage = Some(home);
        }
        for i in 1..=3 {
            self.add_content(
                ContentKind::Page,
                archived,
                Some(home),
                format!("Project retrospective {i}"),
                2,
                None,
            );
        }
        self.add_content(ContentKind::BlogPost, archived, None, "Archive announcement".into(), 1, None);
        self.attach(home, archived, 0);
    }
}

fn ascii_slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'ü' => Some('u'),
            'í' => Some('i'),
            'á' => Some('a'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Adds a newly inserted content record to its space's and container's indexes.
pub fn link_into_indexes(site: &mut Site, id: u64) {
    let Some(content) = site.content.get(&id) else {
        return;
    };
    let (kind, space_id, parent) = (content.kind, content.space_id, content.parent);
    if let Some(space) = site.spaces.get_mut(&space_id) {
        space.ids_mut(kind).insert(id);
    }
    if let Some(parent) = parent.and_then(|p| site.content.get_mut(&p)) {
        match kind {
            ContentKind::Page => parent.children.push(id),
            ContentKind::Attachment => parent.attachments.push(id),
            ContentKind::Comment => parent.comments.push(id),
            ContentKind::BlogPost | ContentKind::Folder => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::Size;

    #[test]
    fn small_site_has_the_fixture_shape_and_is_deterministic() {
        let config = SimConfig::new(Flavour::Server, Size::Small);
        let site = generate(&config);
        let again = generate(&config);
        assert_eq!(site.content.len(), again.content.len());
        for (id, c) in &site.content {
            assert_eq!(again.content[id].title, c.title);
            assert_eq!(again.content[id].modified, c.modified);
        }
        let eng = site.space_by_key("ENG").expect("ENG");
        // 25 regular pages + unicode + long + large + 10 chain + 2 trashed + 1 survivor.
        assert_eq!(eng.pages.len(), 25 + 3 + 10 + 2 + 1);
        assert_eq!(site.spaces.len(), 12);
        let deepest = site
            .content
            .values()
            .filter(|c| c.kind == ContentKind::Page)
            .map(|c| site.ancestors(c.id).len())
            .max();
        assert_eq!(deepest, Some(10));
    }

    #[test]
    fn pages_mode_spreads_pages_over_ten_spaces() {
        let mut config = SimConfig::new(Flavour::Cloud, Size::Small);
        config.pages = Some(1_003);
        let site = generate(&config);
        let regular: usize =
            SPACE_NAMES.iter().map(|(k, _)| site.space_by_key(k).map(|s| s.pages.len()).unwrap_or(0)).sum();
        assert_eq!(regular, 1_003 + 16);
    }

    #[test]
    fn the_same_bytes_in_more_files() {
        let files = |per: u32| {
            let mut config = SimConfig::new(Flavour::Server, Size::Small);
            config.pages = Some(100);
            config.files_per_attached_page = per;
            let site = generate(&config);
            site.content.values().filter(|c| c.kind == ContentKind::Attachment).count()
        };
        // 100 pages: ten of them carry files, seven more each.
        assert_eq!(files(8) - files(1), 70);
    }

    #[test]
    fn attachment_sizes_follow_the_config_and_cost_nothing_until_downloaded() {
        let mut config = SimConfig::new(Flavour::Server, Size::Small);
        config.attachment_sizes = AttachmentSizes::All(8 * 1024 * 1024);
        let started = std::time::Instant::now();
        let site = generate(&config);
        let regular: Vec<&FileInfo> = site
            .content
            .values()
            .filter(|c| c.kind == ContentKind::Attachment && c.title != LARGE_ATTACHMENT_NAME)
            .filter_map(|c| c.file.as_deref())
            .filter(|f| f.approx_size != 20_000)
            .collect();
        assert!(regular.len() >= 1_000, "{}", regular.len());
        assert!(regular.iter().all(|f| f.approx_size == 8 * 1024 * 1024));
        // No file was made: sizes are computed on the first listing, bytes on each download.
        assert!(regular.iter().all(|f| f.exact_size.get().is_none()));
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        let served = crate::confluence::attachment::file_size(regular[0]);
        assert!(served.abs_diff(8 * 1024 * 1024) < 1024 * 1024, "{served}");
    }
}
