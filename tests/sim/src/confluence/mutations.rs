//! Changes between syncs: create, edit (new version, new `lastmodified`), move, restrict,
//! trash, restore and purge content; add and remove spaces, users, groups, memberships and
//! space permissions. Every change bumps the site generation (dropping cached search
//! results) and, with a search-index lag, leaves the old version visible to CQL for a while.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLockWriteGuard};

use thiserror::Error;

use super::generate::{link_into_indexes, mix};
use super::model::{
    AccountType, AttachmentFormat, Body, Content, ContentKind, ContentStatus, FileInfo, Group,
    ReadRestriction, Site, Space, SpacePermission, SpaceStatus, SpaceType, Subject, User,
};
use super::server::Shared;

/// Why a change could not be made.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MutationError {
    /// No content with this id.
    #[error("no content with id {0} in the simulated site")]
    NoSuchContent(u64),
    /// No space with this key.
    #[error("no space with key '{0}' in the simulated site")]
    NoSuchSpace(String),
    /// No user with this username, userKey or accountId.
    #[error("no user '{0}' in the simulated site")]
    NoSuchUser(String),
    /// No group with this name or id.
    #[error("no group '{0}' in the simulated site")]
    NoSuchGroup(String),
    /// The change does not make sense (e.g. a page under an attachment).
    #[error("invalid change: {0}")]
    Invalid(String),
}

/// Who a space permission is for, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A user by username, userKey or accountId.
    User(String),
    /// A group by name or id.
    Group(String),
    /// Anonymous access.
    Anonymous,
    /// A Cloud access class (`all-licensed-users`, …).
    AccessClass(&'static str),
}

/// Mutations of a running simulator (cheap to clone).
#[derive(Clone)]
pub struct SiteHandle {
    shared: Arc<Shared>,
}

impl SiteHandle {
    /// A handle on the simulator's shared state.
    pub fn new(shared: Arc<Shared>) -> SiteHandle {
        SiteHandle { shared }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Site> {
        match self.shared.site.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Reads the site (for assertions in tests).
    pub fn read<T>(&self, f: impl FnOnce(&Site) -> T) -> T {
        match self.shared.site.read() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn remember(&self, site: &Site, id: u64) {
        self.shared.search.before_change(id, site.get(id), site.now_ms());
    }

    /// The site's clock (see [`Site::now`]).
    fn now_ms(&self) -> i64 {
        self.read(Site::now_ms)
    }

    /// Sets the site's clock to `at` from now on (it keeps running from there): content
    /// created or edited next carries dates around `at`, and CQL's `now()` is `at`.
    pub fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        let mut site = self.write();
        site.clock_offset_ms = (at - chrono::Utc::now()).num_milliseconds();
        site.generation += 1;
    }

    /// Moves the site's clock forward: minutes pass on the site (search-index lag runs out,
    /// `now("-5m")` moves on) without the test waiting for them.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let mut site = self.write();
        site.clock_offset_ms += i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        site.generation += 1;
    }

    fn insert(&self, site: &mut Site, mut content: Content) -> u64 {
        let id = site.allocate_id();
        content.id = id;
        if content.kind == ContentKind::Page {
            content.position =
                content.parent.and_then(|p| site.get(p)).map(|p| p.children.len() as u32).unwrap_or(0);
        }
        self.shared.search.before_change(id, None, site.now_ms());
        site.content.insert(id, content);
        link_into_indexes(site, id);
        site.generation += 1;
        id
    }

    fn new_content(
        site: &Site,
        kind: ContentKind,
        space_id: u64,
        parent: Option<u64>,
        title: &str,
        body: Option<&str>,
    ) -> Content {
        let now = site.now_ms();
        Content {
            id: 0,
            kind,
            space_id,
            parent,
            status: ContentStatus::Current,
            title: title.to_string(),
            version: 1,
            created: now,
            modified: now,
            creator: 0,
            modifier: 0,
            position: 0,
            labels: Vec::new(),
            restriction: None,
            body: match body {
                Some(text) => Body::Stored(text.into()),
                None => Body::Generated { paragraphs: 2 },
            },
            file: None,
            children: Vec::new(),
            attachments: Vec::new(),
            comments: Vec::new(),
        }
    }

    fn space_id(site: &Site, key: &str) -> Result<u64, MutationError> {
        site.space_keys.get(key).copied().ok_or_else(|| MutationError::NoSuchSpace(key.to_string()))
    }

    /// Creates a page in `space_key` under `parent` (or at the top level); returns its id.
    pub fn create_page(
        &self,
        space_key: &str,
        parent: Option<u64>,
        title: &str,
        body: Option<&str>,
    ) -> Result<u64, MutationError> {
        let mut site = self.write();
        let space_id = Self::space_id(&site, space_key)?;
        if let Some(p) = parent {
            let parent_content = site.get(p).ok_or(MutationError::NoSuchContent(p))?;
            if !matches!(parent_content.kind, ContentKind::Page | ContentKind::Folder)
                || parent_content.space_id != space_id
            {
                return Err(MutationError::Invalid(format!(
                    "page {p} cannot be the parent of a page in {space_key}"
                )));
            }
        }
        let content = Self::new_content(&site, ContentKind::Page, space_id, parent, title, body);
        Ok(self.insert(&mut site, content))
    }

    /// Creates a Cloud folder in `space_key` under a page or folder; returns its id. Pages
    /// created or moved below it inherit its read restriction.
    pub fn create_folder(&self, space_key: &str, parent: u64, title: &str) -> Result<u64, MutationError> {
        let mut site = self.write();
        let space_id = Self::space_id(&site, space_key)?;
        if site.flavour != super::config::Flavour::Cloud {
            return Err(MutationError::Invalid("folders are Cloud's".into()));
        }
        let parent_content = site.get(parent).ok_or(MutationError::NoSuchContent(parent))?;
        if !matches!(parent_content.kind, ContentKind::Page | ContentKind::Folder)
            || parent_content.space_id != space_id
        {
            return Err(MutationError::Invalid(format!(
                "{parent} cannot be the parent of a folder in {space_key}"
            )));
        }
        let content = Self::new_content(&site, ContentKind::Folder, space_id, Some(parent), title, None);
        Ok(self.insert(&mut site, content))
    }

    /// Creates a blog post; returns its id.
    pub fn create_blogpost(
        &self,
        space_key: &str,
        title: &str,
        body: Option<&str>,
    ) -> Result<u64, MutationError> {
        let mut site = self.write();
        let space_id = Self::space_id(&site, space_key)?;
        let content = Self::new_content(&site, ContentKind::BlogPost, space_id, None, title, body);
        Ok(self.insert(&mut site, content))
    }

    /// Attaches a file of `format` and about `size` bytes to a page or blog post.
    pub fn create_attachment(
        &self,
        container: u64,
        file_name: &str,
        format: AttachmentFormat,
        size: u64,
    ) -> Result<u64, MutationError> {
        let mut site = self.write();
        let parent = site.get(container).ok_or(MutationError::NoSuchContent(container))?;
        if !matches!(parent.kind, ContentKind::Page | ContentKind::BlogPost) {
            return Err(MutationError::Invalid(format!("{container} cannot hold attachments")));
        }
        let space_id = parent.space_id;
        let mut content =
            Self::new_content(&site, ContentKind::Attachment, space_id, Some(container), file_name, None);
        let seed = mix(site.seed, site.next_id);
        content.file = Some(Box::new(FileInfo {
            format,
            approx_size: size,
            exact_size: Default::default(),
            seed,
            comment: String::new(),
            file_id: format!("{:016x}{:016x}", seed, mix(seed, 2)),
        }));
        Ok(self.insert(&mut site, content))
    }

    /// Adds a footer comment to a page or blog post.
    pub fn create_comment(&self, container: u64, body: &str) -> Result<u64, MutationError> {
        let mut site = self.write();
        let parent = site.get(container).ok_or(MutationError::NoSuchContent(container))?;
        if !matches!(parent.kind, ContentKind::Page | ContentKind::BlogPost) {
            return Err(MutationError::Invalid(format!("{container} cannot hold comments")));
        }
        let title = format!("Re: {}", parent.title);
        let space_id = parent.space_id;
        let content =
            Self::new_content(&site, ContentKind::Comment, space_id, Some(container), &title, Some(body));
        Ok(self.insert(&mut site, content))
    }

    fn change(&self, id: u64, f: impl FnOnce(&mut Content)) -> Result<(), MutationError> {
        let mut site = self.write();
        if !site.content.contains_key(&id) {
            return Err(MutationError::NoSuchContent(id));
        }
        self.remember(&site, id);
        if let Some(content) = site.content.get_mut(&id) {
            f(content);
        }
        site.generation += 1;
        Ok(())
    }

    /// Edits content: a new version with a new `lastmodified`; `title`/`body` replace the
    /// old ones when given (an attachment gets new bytes).
    pub fn edit(&self, id: u64, title: Option<&str>, body: Option<&str>) -> Result<(), MutationError> {
        let now = self.now_ms();
        self.change(id, |content| {
            content.version += 1;
            content.modified = now.max(content.modified + 1);
            content.modifier = 0;
            if let Some(title) = title {
                content.title = title.to_string();
            }
            if let Some(body) = body {
                content.body = Body::Stored(body.into());
            }
            if let Some(file) = content.file.as_mut() {
                file.seed = mix(file.seed, u64::from(content.version));
                file.exact_size = Default::default();
            }
        })
    }

    /// Moves a page under a new parent (in the same or another space), with its subtree,
    /// attachments and comments.
    pub fn move_page(&self, id: u64, new_parent: u64) -> Result<(), MutationError> {
        let mut site = self.write();
        let page = site.get(id).ok_or(MutationError::NoSuchContent(id))?;
        let parent = site.get(new_parent).ok_or(MutationError::NoSuchContent(new_parent))?;
        if page.kind != ContentKind::Page
            || !matches!(parent.kind, ContentKind::Page | ContentKind::Folder)
            || site.ancestors(new_parent).contains(&id)
            || id == new_parent
        {
            return Err(MutationError::Invalid(format!("cannot move {id} under {new_parent}")));
        }
        let (old_parent, new_space) = (page.parent, parent.space_id);
        // Detach from the old parent.
        if let Some(old) = old_parent.and_then(|p| site.content.get_mut(&p)) {
            old.children.retain(|c| *c != id);
        }
        // Re-home the subtree.
        let mut stack = vec![id];
        while let Some(current) = stack.pop() {
            self.remember(&site, current);
            let Some(content) = site.content.get(&current) else { continue };
            let (kind, old_space) = (content.kind, content.space_id);
            let related: Vec<u64> = content
                .children
                .iter()
                .chain(&content.attachments)
                .chain(&content.comments)
                .copied()
                .collect();
            if let Some(space) = site.spaces.get_mut(&old_space) {
                space.ids_mut(kind).remove(&current);
            }
            if let Some(space) = site.spaces.get_mut(&new_space) {
                space.ids_mut(kind).insert(current);
            }
            if let Some(content) = site.content.get_mut(&current) {
                content.space_id = new_space;
            }
            stack.extend(related);
        }
        let position = site.get(new_parent).map(|p| p.children.len() as u32).unwrap_or(0);
        let now = site.now_ms();
        if let Some(page) = site.content.get_mut(&id) {
            page.parent = Some(new_parent);
            page.position = position;
            page.version += 1;
            page.modified = now.max(page.modified + 1);
        }
        if let Some(parent) = site.content.get_mut(&new_parent) {
            parent.children.push(id);
        }
        site.generation += 1;
        Ok(())
    }

    /// Sets the read restriction of a page or blog post (empty lists remove it).
    pub fn restrict(&self, id: u64, users: &[&str], groups: &[&str]) -> Result<(), MutationError> {
        let (user_ids, group_ids) = self.read(|site| -> Result<(Vec<u32>, Vec<u32>), MutationError> {
            let users = users
                .iter()
                .map(|u| site.find_user(u).ok_or_else(|| MutationError::NoSuchUser(u.to_string())))
                .collect::<Result<_, _>>()?;
            let groups = groups
                .iter()
                .map(|g| site.find_group(g).ok_or_else(|| MutationError::NoSuchGroup(g.to_string())))
                .collect::<Result<_, _>>()?;
            Ok((users, groups))
        })?;
        self.change(id, |content| {
            content.restriction = if user_ids.is_empty() && group_ids.is_empty() {
                None
            } else {
                Some(Box::new(ReadRestriction { users: user_ids, groups: group_ids }))
            };
        })
    }

    /// Moves content to the trash.
    pub fn trash(&self, id: u64) -> Result<(), MutationError> {
        self.change(id, |content| content.status = ContentStatus::Trashed)
    }

    /// Restores trashed content.
    pub fn restore(&self, id: u64) -> Result<(), MutationError> {
        self.change(id, |content| content.status = ContentStatus::Current)
    }

    /// Deletes content for good, with its attachments, comments and (for pages) its
    /// subtree.
    pub fn purge(&self, id: u64) -> Result<(), MutationError> {
        let mut site = self.write();
        let content = site.get(id).ok_or(MutationError::NoSuchContent(id))?;
        if let Some(parent) = content.parent.and_then(|p| site.content.get_mut(&p)) {
            parent.children.retain(|c| *c != id);
            parent.attachments.retain(|c| *c != id);
            parent.comments.retain(|c| *c != id);
        }
        let mut stack = vec![id];
        while let Some(current) = stack.pop() {
            self.remember(&site, current);
            if let Some(content) = site.content.remove(&current) {
                if let Some(space) = site.spaces.get_mut(&content.space_id) {
                    space.ids_mut(content.kind).remove(&current);
                }
                stack.extend(content.children.iter().chain(&content.attachments).chain(&content.comments));
            }
        }
        site.generation += 1;
        Ok(())
    }

    /// Adds a label to content.
    pub fn add_label(&self, id: u64, label: &str) -> Result<(), MutationError> {
        self.change(id, |content| {
            if !content.labels.iter().any(|l| l == label) {
                content.labels.push(label.to_string());
            }
        })
    }

    /// Adds a global space with a home page; returns the space id.
    pub fn add_space(&self, key: &str, name: &str) -> Result<u64, MutationError> {
        let mut site = self.write();
        if site.space_keys.contains_key(key) {
            return Err(MutationError::Invalid(format!("space key {key} is taken")));
        }
        let id = site.allocate_id();
        let created = site.now_ms();
        site.spaces.insert(
            id,
            Space {
                id,
                key: key.to_string(),
                name: name.to_string(),
                space_type: SpaceType::Global,
                status: SpaceStatus::Current,
                description: String::new(),
                homepage: None,
                created,
                creator: 0,
                permissions: Vec::new(),
                pages: BTreeSet::new(),
                blogposts: BTreeSet::new(),
                attachments: BTreeSet::new(),
                comments: BTreeSet::new(),
                folders: BTreeSet::new(),
            },
        );
        site.space_keys.insert(key.to_string(), id);
        let home = Self::new_content(&site, ContentKind::Page, id, None, &format!("{name} Home"), None);
        let home = self.insert(&mut site, home);
        if let Some(space) = site.spaces.get_mut(&id) {
            space.homepage = Some(home);
        }
        Ok(id)
    }

    /// Archives a space.
    pub fn archive_space(&self, key: &str) -> Result<(), MutationError> {
        let mut site = self.write();
        let id = Self::space_id(&site, key)?;
        if let Some(space) = site.spaces.get_mut(&id) {
            space.status = SpaceStatus::Archived;
        }
        site.generation += 1;
        Ok(())
    }

    /// Deletes a space and all its content.
    pub fn remove_space(&self, key: &str) -> Result<(), MutationError> {
        let mut site = self.write();
        let id = Self::space_id(&site, key)?;
        let Some(space) = site.spaces.remove(&id) else {
            return Err(MutationError::NoSuchSpace(key.to_string()));
        };
        site.space_keys.remove(key);
        for content_id in
            space.pages.iter().chain(&space.blogposts).chain(&space.attachments).chain(&space.comments)
        {
            self.remember(&site, *content_id);
            site.content.remove(content_id);
        }
        site.generation += 1;
        Ok(())
    }

    /// Adds an active user; returns its index. Its password, API token and PAT are
    /// `<username>-password`, `<username>-token`, `<username>-pat`.
    pub fn add_user(&self, username: &str, display_name: &str) -> u32 {
        let mut site = self.write();
        let index = site.users.len() as u64;
        let seed = mix(site.seed, index);
        site.users.push(User {
            username: username.to_string(),
            user_key: format!("{:016x}{:016x}", seed, mix(seed, 1)),
            account_id: format!("{:024x}", u128::from(mix(seed, 2)) << 32 | u128::from(mix(seed, 3) as u32)),
            display_name: display_name.to_string(),
            email: format!("{username}@example.com"),
            active: true,
            account_type: AccountType::Atlassian,
            site_admin: false,
            password: format!("{username}-password"),
            api_token: format!("{username}-token"),
            pat: format!("{username}-pat"),
            removed: false,
        });
        site.generation += 1;
        index as u32
    }

    /// Deactivates (or reactivates) a user.
    pub fn set_user_active(&self, who: &str, active: bool) -> Result<(), MutationError> {
        let mut site = self.write();
        let index = site.find_user(who).ok_or_else(|| MutationError::NoSuchUser(who.to_string()))?;
        site.users[index as usize].active = active;
        site.generation += 1;
        Ok(())
    }

    /// Deletes a user (and their group memberships).
    pub fn remove_user(&self, who: &str) -> Result<(), MutationError> {
        let mut site = self.write();
        let index = site.find_user(who).ok_or_else(|| MutationError::NoSuchUser(who.to_string()))?;
        site.users[index as usize].removed = true;
        for group in &mut site.groups {
            group.members.remove(&index);
        }
        site.generation += 1;
        Ok(())
    }

    /// Adds a group; returns its index.
    pub fn add_group(&self, name: &str) -> Result<u32, MutationError> {
        let mut site = self.write();
        if site.find_group(name).is_some() {
            return Err(MutationError::Invalid(format!("group {name} exists")));
        }
        let seed = mix(site.seed, site.groups.len() as u64 + 0x6000);
        site.groups.push(Group {
            name: name.to_string(),
            id: format!("{:016x}-{:016x}", seed, mix(seed, 1)),
            members: BTreeSet::new(),
            removed: false,
        });
        site.generation += 1;
        Ok(site.groups.len() as u32 - 1)
    }

    /// Deletes a group.
    pub fn remove_group(&self, name: &str) -> Result<(), MutationError> {
        let mut site = self.write();
        let index = site.find_group(name).ok_or_else(|| MutationError::NoSuchGroup(name.to_string()))?;
        site.groups[index as usize].removed = true;
        site.generation += 1;
        Ok(())
    }

    /// Adds or removes a group member.
    pub fn set_membership(&self, group: &str, user: &str, member: bool) -> Result<(), MutationError> {
        let mut site = self.write();
        let g = site.find_group(group).ok_or_else(|| MutationError::NoSuchGroup(group.to_string()))?;
        let u = site.find_user(user).ok_or_else(|| MutationError::NoSuchUser(user.to_string()))?;
        let members = &mut site.groups[g as usize].members;
        if member {
            members.insert(u);
        } else {
            members.remove(&u);
        }
        site.generation += 1;
        Ok(())
    }

    fn subject(site: &Site, grantee: &Grantee) -> Result<Subject, MutationError> {
        Ok(match grantee {
            Grantee::User(who) => {
                Subject::User(site.find_user(who).ok_or_else(|| MutationError::NoSuchUser(who.clone()))?)
            }
            Grantee::Group(name) => {
                Subject::Group(site.find_group(name).ok_or_else(|| MutationError::NoSuchGroup(name.clone()))?)
            }
            Grantee::Anonymous => Subject::Anonymous,
            Grantee::AccessClass(id) => Subject::AccessClass(id),
        })
    }

    /// Grants `operation` on `target` (e.g. `read`/`space`) in a space.
    pub fn grant(
        &self,
        space_key: &str,
        grantee: &Grantee,
        operation: &str,
        target: &str,
    ) -> Result<(), MutationError> {
        let mut site = self.write();
        let space_id = Self::space_id(&site, space_key)?;
        let subject = Self::subject(&site, grantee)?;
        let id = site.allocate_id();
        if let Some(space) = site.spaces.get_mut(&space_id) {
            space.permissions.push(SpacePermission {
                id,
                subject,
                operation: operation.to_string(),
                target: target.to_string(),
            });
        }
        site.generation += 1;
        Ok(())
    }

    /// Revokes every permission of a grantee in a space.
    pub fn revoke(&self, space_key: &str, grantee: &Grantee) -> Result<(), MutationError> {
        let mut site = self.write();
        let space_id = Self::space_id(&site, space_key)?;
        let subject = Self::subject(&site, grantee)?;
        if let Some(space) = site.spaces.get_mut(&space_id) {
            space.permissions.retain(|p| p.subject != subject);
        }
        site.generation += 1;
        Ok(())
    }
}
