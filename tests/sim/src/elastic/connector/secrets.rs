//! Connector secrets: values (an API key's encoded form, typically) that Elastic-managed
//! connectors keep out of the connector document, stored in `.connector-secrets` and
//! addressed by id — `POST /_connector/_secret` (new id), `PUT /_connector/_secret/{id}`,
//! `GET` and `DELETE` on the id.

use serde_json::json;

use super::mappings::SECRETS_INDEX;
use super::store::{self, live, not_found, require_id, Body};
use crate::elastic::cluster::random_id;
use crate::elastic::error::EsError;
use crate::elastic::routes::{Reply, Request};
use crate::elastic::server::Shared;
use crate::elastic::write::WriteKind;

fn secret_not_found(id: &str) -> EsError {
    not_found(format!("No secret with id [{id}]"))
}

/// The `value` of a post or put request, required and non-empty.
fn value(req: &Request, parser: &'static str) -> Result<String, EsError> {
    let body = Body::parse(req, parser, &["value"], true)?;
    body.no_null("value")?;
    body.string("value")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| EsError::validation(&["[value] of the connector secret cannot be [null] or [\"\"]"]))
}

/// `POST /_connector/_secret`.
pub fn post(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let value = value(req, "post_secret_request")?;
    let id = random_id();
    let mut c = shared.write();
    store::put(&mut c, SECRETS_INDEX, Some(&id), json!({"value": value}))?;
    Ok(Reply::ok(json!({"id": id})))
}

/// `PUT /_connector/_secret/{id}`: 201 when it creates the secret, 200 when it overwrites it.
pub fn put(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(2);
    require_id(id, "id")?;
    let value = value(req, "put_secret_request")?;
    let mut c = shared.write();
    let o = store::put(&mut c, SECRETS_INDEX, Some(id), json!({"value": value}))?;
    let result = store::result_of(&o);
    Ok(Reply::with(store::created_or_ok(&result), json!({"result": result})))
}

/// `GET /_connector/_secret/{id}`.
pub fn get(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(2);
    require_id(id, "id")?;
    let c = shared.read();
    let doc = live(&c, SECRETS_INDEX, id).ok_or_else(|| secret_not_found(id))?;
    Ok(Reply::ok(json!({"id": id, "value": doc.source["value"]})))
}

/// `DELETE /_connector/_secret/{id}`.
pub fn delete(shared: &Shared, req: &Request) -> Result<Reply, EsError> {
    let id = req.seg(2);
    require_id(id, "id")?;
    let mut c = shared.write();
    if live(&c, SECRETS_INDEX, id).is_none() {
        return Err(secret_not_found(id));
    }
    store::write(&mut c, SECRETS_INDEX, Some(id), WriteKind::Delete)?;
    Ok(Reply::ok(json!({"deleted": true})))
}
