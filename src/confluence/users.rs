//! Names of Cloud users. Cloud v2 listings name authors by account id only, while Elastic's
//! documents carry the author's public name (`history.createdBy.publicName`).

use super::api::v1;
use super::client::ConfluenceClient;
use super::error::ConfluenceError;

impl ConfluenceClient {
    /// The public (or display) name of a Cloud account; `None` when the user is gone.
    pub(crate) async fn user_name(&self, account_id: &str) -> Result<Option<String>, ConfluenceError> {
        let url = self.url(&["rest", "api", "user"], &[("accountId", account_id.to_string())]);
        match self.get_json::<v1::User>(url, "GET /rest/api/user").await {
            Ok(fetched) => Ok(fetched.body.public_name.or(fetched.body.display_name)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
