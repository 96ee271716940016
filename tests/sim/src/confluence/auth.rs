//! Who is calling: the `Authorization` header checked the way each flavour checks it. Cloud
//! takes basic `email:api_token`; Server takes basic `username:password`; Data Center takes
//! basic or `Bearer <personal access token>`. Anything else is refused (401), as are
//! deactivated and deleted accounts.

use base64::Engine;

use super::config::Flavour;
use super::model::Site;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header at all.
    Missing,
    /// A header that this flavour does not accept or that names no account.
    Invalid,
}

/// Checks the header and returns the caller's index in [`Site::users`].
pub fn authenticate(site: &Site, flavour: Flavour, header: Option<&str>) -> Result<u32, AuthFailure> {
    let header = header.ok_or(AuthFailure::Missing)?.trim();
    let (scheme, value) = header.split_once(' ').ok_or(AuthFailure::Invalid)?;
    let value = value.trim();
    let found = if scheme.eq_ignore_ascii_case("basic") {
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(value).map_err(|_| AuthFailure::Invalid)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthFailure::Invalid)?;
        let (name, secret) = decoded.split_once(':').ok_or(AuthFailure::Invalid)?;
        site.users.iter().position(|u| match flavour {
            Flavour::Cloud => u.email.eq_ignore_ascii_case(name) && u.api_token == secret,
            Flavour::Server | Flavour::DataCenter => u.username == name && u.password == secret,
        })
    } else if scheme.eq_ignore_ascii_case("bearer") && flavour == Flavour::DataCenter {
        site.users.iter().position(|u| u.pat == value)
    } else {
        None
    };
    let index = found.ok_or(AuthFailure::Invalid)?;
    let user = &site.users[index];
    if user.removed || !user.active {
        return Err(AuthFailure::Invalid);
    }
    Ok(index as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::config::{SimConfig, Size};
    use crate::confluence::generate::generate;

    fn basic(a: &str, b: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{a}:{b}")))
    }

    #[test]
    fn each_flavour_accepts_its_own_scheme_only() {
        let site = generate(&SimConfig::new(Flavour::DataCenter, Size::Small));
        let admin = &site.users[0];
        let ok = basic(&admin.username, &admin.password);
        assert_eq!(authenticate(&site, Flavour::DataCenter, Some(&ok)), Ok(0));
        let bearer = format!("Bearer {}", admin.pat);
        assert_eq!(authenticate(&site, Flavour::DataCenter, Some(&bearer)), Ok(0));
        assert_eq!(authenticate(&site, Flavour::Server, Some(&bearer)), Err(AuthFailure::Invalid));
        assert_eq!(
            authenticate(&site, Flavour::DataCenter, Some(&basic(&admin.username, "wrong"))),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(authenticate(&site, Flavour::DataCenter, None), Err(AuthFailure::Missing));
        let cloud = basic(&admin.email, &admin.api_token);
        assert_eq!(authenticate(&site, Flavour::Cloud, Some(&cloud)), Ok(0));
        assert_eq!(authenticate(&site, Flavour::Server, Some(&cloud)), Err(AuthFailure::Invalid));
    }

    #[test]
    fn inactive_accounts_are_refused() {
        let site = generate(&SimConfig::new(Flavour::Server, Size::Small));
        let (index, user) = site.users.iter().enumerate().find(|(_, u)| !u.active).expect("inactive user");
        assert!(index > 2);
        assert_eq!(
            authenticate(&site, Flavour::Server, Some(&basic(&user.username, &user.password))),
            Err(AuthFailure::Invalid)
        );
    }
}
