//! Photos and attachments 照片与附件 (a business card, a signed agreement, the
//! customer's premises) on a visit, a contact, an agreement or the customer.
//!
//! The document holds only a reference: the file's SHA-256, name, type and
//! size. The bytes are a content-addressed blob kept beside the documents —
//! on the tablet in IndexedDB (offline), on the server in its own table —
//! because a photo inside an Automerge document would be copied into every
//! sync and every snapshot of the customer for ever. The server gives a blob
//! only to users who may read a customer that refers to it.

use autosurgeon::{Doc, Hydrate, Reconcile};

use crate::{SchemaError, flex};

/// The largest file that may be attached: a tablet camera's photo is 2–6 MB;
/// a scanned agreement as PDF a few MB.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The most attachments one customer may hold.
pub const MAX_PER_CUSTOMER: usize = 500;

/// The longest file name and caption kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The kinds of file that may be attached, and how each is shown: photos
/// (shown in the app) and PDF (opened). Nothing a browser would run.
pub const TYPES: [&str; 6] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/heic",
    "application/pdf",
];

/// What an attachment is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Customer,
    Visit(String),
    Contact(String),
    Agreement(String),
}

impl About {
    /// Read from the document's `about` (`visit:<id>`, …; empty: the customer).
    pub fn parse(s: &str) -> About {
        match s.split_once(':') {
            Some(("visit", id)) => About::Visit(id.into()),
            Some(("contact", id)) => About::Contact(id.into()),
            Some(("agreement", id)) => About::Agreement(id.into()),
            _ => About::Customer,
        }
    }

    /// As the document holds it.
    pub fn key(&self) -> String {
        match self {
            About::Customer => String::new(),
            About::Visit(id) => format!("visit:{id}"),
            About::Contact(id) => format!("contact:{id}"),
            About::Agreement(id) => format!("agreement:{id}"),
        }
    }
}

/// An attachment as the customer document holds it.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct Attachment {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// The blob: hex SHA-256 of the file's bytes.
    #[autosurgeon(with = "flex::string")]
    pub sha256: String,
    /// The file's name (a photo taken gets one: `照片 2026-12-06 10-31.jpg`).
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    /// One of [`TYPES`].
    #[autosurgeon(with = "flex::string")]
    pub mime: String,
    #[autosurgeon(with = "flex::int")]
    pub size: i64,
    /// `visit:<id>` | `contact:<id>` | `agreement:<id>` | "" (the customer).
    #[autosurgeon(with = "flex::string")]
    pub about: String,
    #[autosurgeon(with = "flex::string")]
    pub caption: String,
    /// Username of who attached it, their name then, and when (RFC 3339,
    /// the tablet's clock).
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    #[autosurgeon(with = "flex::string")]
    pub by_name: String,
    #[autosurgeon(with = "flex::string")]
    pub at: String,
}

impl Attachment {
    /// Shown in the app (a photo the browser can draw), rather than opened.
    pub fn is_picture(&self) -> bool {
        self.mime.starts_with("image/") && self.mime != "image/heic"
    }
}

/// Whether `s` is a hex SHA-256 (what a blob is named by).
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The hex SHA-256 of a file's bytes.
pub fn hash_of(bytes: &[u8]) -> String {
    crate::peer::chunks::content_hash(bytes)
}

/// The type a file is kept under, from what the browser or the client says
/// (`image/jpeg; …`) and, failing that, its name; `None`: not one of [`TYPES`].
pub fn type_of(declared: &str, name: &str) -> Option<&'static str> {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if let Some(t) = TYPES.iter().find(|t| **t == declared) {
        return Some(t);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("png") => Some("image/png"),
        Some("webp") => Some("image/webp"),
        Some("gif") => Some("image/gif"),
        Some("heic" | "heif") => Some("image/heic"),
        Some("pdf") => Some("application/pdf"),
        _ => None,
    }
}

/// Why a file may not be attached, in words a person can act on; `None`: it may.
pub fn refusal(size: usize, mime: Option<&str>) -> Option<String> {
    if size == 0 {
        return Some("文件是空的 / the file is empty".into());
    }
    if size > MAX_BYTES {
        return Some(format!(
            "文件 {:.1} MB，超过 {} MB 的上限，请压缩或拍摄较小的照片 / the file is {:.1} MB, over the {} MB limit: send a smaller photo or scan",
            size as f64 / 1048576.0,
            MAX_BYTES / 1048576,
            size as f64 / 1048576.0,
            MAX_BYTES / 1048576
        ));
    }
    if mime.is_none() {
        return Some(
            "只能附加照片（JPEG、PNG、WebP、GIF、HEIC）或 PDF / only photos (JPEG, PNG, WebP, GIF, HEIC) or PDF can be attached"
                .into(),
        );
    }
    None
}

/// Adds an attachment to the customer (its blob is kept apart).
pub fn attach<T: Doc>(tx: &mut T, existing: usize, a: &Attachment) -> Result<(), SchemaError> {
    if !is_hash(&a.sha256) {
        return Err(SchemaError::Invalid(
            "附件缺少内容摘要 / the attachment has no content hash".into(),
        ));
    }
    if let Some(why) = refusal(
        usize::try_from(a.size).unwrap_or(usize::MAX),
        TYPES.iter().find(|t| **t == a.mime).copied(),
    ) {
        return Err(SchemaError::Invalid(why));
    }
    if existing >= MAX_PER_CUSTOMER {
        return Err(SchemaError::Invalid(format!(
            "每位客户最多 {MAX_PER_CUSTOMER} 个附件 / at most {MAX_PER_CUSTOMER} attachments per customer"
        )));
    }
    let mut a = a.clone();
    a.name = a.name.chars().take(MAX_NAME_CHARS).collect();
    a.caption = a.caption.chars().take(MAX_NAME_CHARS).collect();
    flex::append(tx, &automerge::ROOT, "attachments", &a)
}

/// A size for people: `850 KB`, `3.2 MB`.
pub fn size_label(bytes: i64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        format!("{:.1} MB", bytes as f64 / 1048576.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Customer;
    use automerge::AutoCommit;

    #[test]
    fn types_are_known_by_declaration_or_name_and_nothing_runnable_is_taken() {
        assert_eq!(type_of("image/jpeg", "x"), Some("image/jpeg"));
        assert_eq!(type_of("IMAGE/PNG; q=1", "x"), Some("image/png"));
        assert_eq!(type_of("", "名片.JPG"), Some("image/jpeg"));
        assert_eq!(
            type_of("application/octet-stream", "协议.pdf"),
            Some("application/pdf")
        );
        assert_eq!(type_of("text/html", "x.html"), None);
        assert_eq!(type_of("image/svg+xml", "x.svg"), None);
        assert!(refusal(5, None).unwrap().contains("PDF"));
        assert!(
            refusal(MAX_BYTES + 1, Some("image/png"))
                .unwrap()
                .contains("10 MB")
        );
        assert!(refusal(0, Some("image/png")).is_some());
        assert_eq!(refusal(MAX_BYTES, Some("image/png")), None);
    }

    #[test]
    fn an_attachment_is_a_reference_added_to_the_customer() {
        let mut doc = AutoCommit::new();
        Customer::new("附件公司", "", Default::default(), vec![])
            .create(&mut doc)
            .unwrap();
        let a = Attachment {
            id: "a1".into(),
            sha256: hash_of(b"photo"),
            name: "名片.jpg".into(),
            mime: "image/jpeg".into(),
            size: 5,
            about: About::Contact("c1".into()).key(),
            by: "zhang.wei".into(),
            ..Default::default()
        };
        attach(&mut doc, 0, &a).unwrap();
        let bad = Attachment {
            sha256: "not a hash".into(),
            ..a.clone()
        };
        assert!(attach(&mut doc, 1, &bad).is_err());
        assert!(attach(&mut doc, MAX_PER_CUSTOMER, &a).is_err());
        let c = Customer::load(doc.document()).unwrap();
        assert_eq!(c.attachments, vec![a]);
        assert_eq!(
            About::parse(&c.attachments[0].about),
            About::Contact("c1".into())
        );
        assert_eq!(About::parse(""), About::Customer);
        assert_eq!(size_label(870_000), "850 KB");
        assert_eq!(size_label(3_355_443), "3.2 MB");
    }

    /// A document of an earlier release has no list; two tablets attach
    /// offline, each creating one: after the merge both photos are there.
    #[test]
    fn two_tablets_creating_the_list_offline_both_keep_their_attachment() {
        use automerge::transaction::Transactable;
        let mut doc = AutoCommit::new();
        Customer::new("旧文档公司", "", Default::default(), vec![])
            .create(&mut doc)
            .unwrap();
        Transactable::delete(&mut doc, automerge::ROOT, "attachments").unwrap();
        let mut a = doc.fork().with_actor(automerge::ActorId::random());
        let mut b = doc.fork().with_actor(automerge::ActorId::random());
        let photo = |id: &str| Attachment {
            id: id.into(),
            sha256: hash_of(id.as_bytes()),
            name: format!("{id}.jpg"),
            mime: "image/jpeg".into(),
            size: 2,
            ..Default::default()
        };
        attach(&mut a, 0, &photo("a")).unwrap();
        attach(&mut b, 0, &photo("b")).unwrap();
        a.merge(&mut b).unwrap();
        let mut ids: Vec<String> = Customer::load(a.document())
            .unwrap()
            .attachments
            .into_iter()
            .map(|x| x.id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
        // A third, appended after the merge, joins them (once each).
        attach(&mut a, 2, &photo("c")).unwrap();
        assert_eq!(Customer::load(a.document()).unwrap().attachments.len(), 3);
    }
}
