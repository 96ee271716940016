//! Downloading attachment bytes with a hard size limit.
//!
//! Cloud: `GET /wiki/rest/api/content/{pageId}/child/attachment/{attId}/download`, with the
//! attachment id as listed (`att123`: the form verified against real Cloud), answers 302
//! to a signed URL on the media host; the client follows it itself and sends neither the
//! `Authorization` header nor cookies there (see [`super::client`]). The legacy
//! `/download/attachments/…` links answer 401 to API tokens on Cloud, so they are not used.
//! Server/DC: the attachment's `_links.download`, relative to the base.
//!
//! The body is streamed and counted; the transfer is aborted with
//! [`ConfluenceError::TooLarge`] as soon as it passes the limit, whatever `fileSize` or
//! `Content-Length` claimed. A body that breaks off is retried from the start. It goes into
//! memory, or — a large file — into a spool on disk ([`crate::extract::spool`]): as base64
//! when it is for the ingest pipeline.

use std::future::Future;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::client::ConfluenceClient;
use super::error::{display_url, ConfluenceError};
use super::options::Flavour;
use crate::extract::spool::{Encoding, SpoolWriter, SpooledFile};

/// What identifies an attachment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Attachment id as listed (`att123` on Cloud, `123` on Server/DC).
    pub(crate) id: String,
    /// Id of the page / blog post holding it.
    pub(crate) container_id: String,
    /// `_links.download` (Server/DC: the path used; Cloud: ignored).
    pub(crate) download_path: Option<String>,
}

/// A downloaded attachment.
#[derive(Debug, Clone)]
pub struct Download {
    /// The bytes (never more than the limit).
    pub bytes: Bytes,
}

/// Where a download's bytes go while they arrive; a new one for every attempt.
trait Receiver: Sized + Send {
    /// The finished download.
    type Output;
    /// Takes the next chunk.
    fn take(&mut self, chunk: &[u8]) -> impl Future<Output = std::io::Result<()>> + Send;
    /// The body has ended.
    fn done(self) -> impl Future<Output = std::io::Result<Self::Output>> + Send;
    /// Bytes of the file received.
    fn received(output: &Self::Output) -> u64;
}

/// Into memory, in a buffer sized once from `Content-Length` (never above the limit): a
/// growing buffer would hold up to twice the file while it doubles.
impl Receiver for BytesMut {
    type Output = Bytes;

    async fn take(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(chunk);
        Ok(())
    }

    async fn done(self) -> std::io::Result<Bytes> {
        Ok(self.freeze())
    }

    fn received(output: &Bytes) -> u64 {
        output.len() as u64
    }
}

/// Into a spool on disk ([`crate::extract::spool`]).
impl Receiver for SpoolWriter {
    type Output = SpooledFile;

    async fn take(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.write(chunk).await
    }

    async fn done(self) -> std::io::Result<SpooledFile> {
        self.finish().await
    }

    fn received(output: &SpooledFile) -> u64 {
        output.raw_len()
    }
}

impl ConfluenceClient {
    /// Downloads an attachment into memory, failing with [`ConfluenceError::TooLarge`] as
    /// soon as more than `max_bytes` arrive.
    pub async fn download(
        &self,
        attachment: &AttachmentRef,
        max_bytes: u64,
    ) -> Result<Download, ConfluenceError> {
        let start = |announced: u64| Ok(BytesMut::with_capacity(usize::try_from(announced).unwrap_or(0)));
        self.fetch(attachment, max_bytes, start).await.map(|bytes| Download { bytes })
    }

    /// Downloads an attachment into an unnamed temporary file in `dir`, as base64 or as
    /// received, holding buffers rather than the file; the size limit as for
    /// [`ConfluenceClient::download`].
    pub(crate) async fn download_to_disk(
        &self,
        attachment: &AttachmentRef,
        max_bytes: u64,
        dir: &Path,
        encoding: Encoding,
    ) -> Result<SpooledFile, ConfluenceError> {
        self.fetch(attachment, max_bytes, |_| SpoolWriter::create_in(dir, encoding)).await
    }

    /// The download URL of `attachment` and its route (for the request statistics).
    fn download_url(&self, attachment: &AttachmentRef) -> Result<(url::Url, &'static str), ConfluenceError> {
        match self.flavour() {
            Flavour::Cloud => {
                // The id as listed, `att` prefix kept: real Cloud answers the download route
                // with it (302 → 200).
                let id = attachment.id.as_str();
                Ok((
                    self.url(
                        &[
                            "rest",
                            "api",
                            "content",
                            &attachment.container_id,
                            "child",
                            "attachment",
                            id,
                            "download",
                        ],
                        &[],
                    ),
                    "GET /rest/api/content/{id}/child/attachment/{attId}/download",
                ))
            }
            Flavour::Server | Flavour::DataCenter => {
                let path =
                    attachment.download_path.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
                        ConfluenceError::Redirect {
                            url: display_url(self.api_root()),
                            detail: format!("attachment {} has no download link", attachment.id),
                        }
                    })?;
                Ok((self.resolve_link(path), "GET /download/attachments/{id}/{file}"))
            }
        }
    }

    /// Streams an attachment's body into a new receiver at every attempt, made by `start`
    /// for a body of the announced length (`Content-Length`, within the limit).
    async fn fetch<R: Receiver>(
        &self,
        attachment: &AttachmentRef,
        max_bytes: u64,
        start: impl Fn(u64) -> std::io::Result<R>,
    ) -> Result<R::Output, ConfluenceError> {
        let (url, route) = self.download_url(attachment)?;
        let start = &start;
        self.run(&url, route, false, |response| async move {
            let final_url = response.url().clone();
            let too_large = || ConfluenceError::TooLarge { url: display_url(&final_url), limit: max_bytes };
            let spool_failed = |e: std::io::Error| ConfluenceError::Spool {
                url: display_url(&final_url),
                detail: e.to_string(),
            };
            if response.content_length().is_some_and(|length| length > max_bytes) {
                return Err(too_large());
            }
            let announced = response.content_length().unwrap_or(0).min(max_bytes);
            let mut receiver = start(announced).map_err(spool_failed)?;
            let mut received = 0u64;
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| match ConfluenceError::from_transport(&final_url, &e, false) {
                        ConfluenceError::Network { detail, .. } => {
                            ConfluenceError::Truncated { url: display_url(&final_url), detail }
                        }
                        other => other,
                    })?;
                received += chunk.len() as u64;
                if received > max_bytes {
                    return Err(too_large());
                }
                receiver.take(&chunk).await.map_err(spool_failed)?;
            }
            receiver.done().await.map_err(spool_failed)
        })
        .await
        .inspect(|output| self.count_bytes(R::received(output)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::client::tests::test_client;
    use crate::confluence::test_server::serve;
    use axum::body::Body;
    use axum::response::Response;

    #[tokio::test]
    async fn cloud_download_follows_the_redirect_without_the_credential() {
        let (media, media_log) = serve(|_, _| Response::new(Body::from("file-bytes"))).await;
        let location = format!("{}/file/f1/binary?token=signed", media.origin);
        let (site, site_log) = serve(move |_, _| {
            Response::builder()
                .status(302)
                .header("location", location.clone())
                .header("set-cookie", "s=1")
                .body(Body::empty())
                .unwrap()
        })
        .await;
        let client = test_client(&site.origin, Flavour::Cloud).await;
        let attachment = AttachmentRef { id: "att42".into(), container_id: "7".into(), download_path: None };
        let download = client.download(&attachment, 1024).await.unwrap();
        assert_eq!(&download.bytes[..], b"file-bytes");
        let site_seen = site_log.lock().unwrap().clone();
        assert_eq!(site_seen[0].target, "/wiki/rest/api/content/7/child/attachment/att42/download");
        assert!(site_seen[0].authorization.as_deref().is_some_and(|a| a.starts_with("Basic ")));
        let media_seen = media_log.lock().unwrap().clone();
        assert_eq!(media_seen[0].target, "/file/f1/binary?token=signed");
        assert_eq!(media_seen[0].authorization, None, "the token never leaves the site's origin");
        assert!(client
            .stats()
            .by_route
            .contains_key(&("GET /rest/api/content/{id}/child/attachment/{attId}/download", 302)));
    }

    #[tokio::test]
    async fn the_size_limit_is_enforced_while_streaming() {
        // No Content-Length: 16 chunks of 1 KiB, streamed.
        let (server, _log) = serve(|_, _| {
            let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
                (0..16).map(|_| Ok(bytes::Bytes::from(vec![b'x'; 1024]))).collect();
            Response::new(Body::from_stream(futures::stream::iter(chunks)))
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let attachment = AttachmentRef {
            id: "9".into(),
            container_id: "7".into(),
            download_path: Some("/download/attachments/7/a.bin?version=1".into()),
        };
        let error = client.download(&attachment, 4096).await.unwrap_err();
        assert!(matches!(error, ConfluenceError::TooLarge { limit: 4096, .. }), "{error}");
        assert!(!error.to_string().contains("version=1"), "no query in errors");
        let whole = client.download(&attachment, 16 * 1024).await.unwrap();
        assert_eq!(whole.bytes.len(), 16 * 1024);
    }

    #[tokio::test]
    async fn a_file_of_unknown_size_stops_streaming_at_the_limit() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        // 64 MiB offered in 64 KiB chunks, no Content-Length; counted as the server hands
        // them over.
        let served = Arc::new(AtomicU64::new(0));
        let counter = served.clone();
        let (server, _log) = serve(move |_, _| {
            let counter = counter.clone();
            let chunks = futures::stream::iter(0..1024).map(move |_| {
                counter.fetch_add(64 * 1024, Ordering::Relaxed);
                Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 64 * 1024]))
            });
            Response::new(Body::from_stream(chunks))
        })
        .await;
        let client = test_client(&server.origin, Flavour::DataCenter).await;
        let attachment = AttachmentRef {
            id: "9".into(),
            container_id: "7".into(),
            download_path: Some("/download/attachments/7/big.pdf".into()),
        };
        let error = client.download(&attachment, 1024 * 1024).await.unwrap_err();
        assert!(matches!(error, ConfluenceError::TooLarge { .. }), "{error}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let served = served.load(Ordering::Relaxed);
        // The limit, and what the sockets' buffers took before the connection closed.
        assert!(served < 16 * 1024 * 1024, "{served} bytes of 64 MiB served");
    }
}
