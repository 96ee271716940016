//! What a route answers, before the wire: a status, headers and a JSON or byte body — and
//! the error bodies each API family uses (v1 `{statusCode, data, message, reason}`, v2
//! `{errors: [{status, code, title, detail}]}`).

use serde_json::{json, Value};

/// The body of a reply.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// A JSON document.
    Json(Value),
    /// Raw bytes with a content type.
    Bytes(Vec<u8>, String),
    /// No body.
    Empty,
}

/// A route's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ReplyBody,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(value: Value) -> Reply {
        Reply { status: 200, headers: Vec::new(), body: ReplyBody::Json(value) }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// A v1 (and Server/DC) error: `{"statusCode", "data", "message", "reason"}`.
    pub fn v1_error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(json!({
                "statusCode": status,
                "data": {
                    "authorized": status != 401 && status != 403,
                    "valid": status != 400,
                    "allowedInReadOnlyMode": true,
                    "errors": [],
                    "successful": false
                },
                "message": message.into(),
                "reason": reason(status)
            })),
        }
    }

    /// A v2 error: `{"errors": [{"status", "code", "title", "detail"}]}`.
    pub fn v2_error(status: u16, detail: impl Into<String>) -> Reply {
        let code = reason(status).to_uppercase().replace(' ', "_");
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(json!({
                "errors": [{"status": status, "code": code, "title": reason(status), "detail": detail.into()}]
            })),
        }
    }
}

/// The reason phrase of a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_have_the_confluence_shapes() {
        let v1 = Reply::v1_error(404, "No content found with id: ContentId{id=1}");
        let ReplyBody::Json(body) = v1.body else { panic!("json") };
        assert_eq!(body["statusCode"], 404);
        assert_eq!(body["reason"], "Not Found");
        let v2 = Reply::v2_error(400, "bad cursor");
        let ReplyBody::Json(body) = v2.body else { panic!("json") };
        assert_eq!(body["errors"][0]["code"], "BAD_REQUEST");
    }
}
