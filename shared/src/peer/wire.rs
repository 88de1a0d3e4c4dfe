//! The automerge-repo websocket messages (protocol version "1"), as CBOR maps.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use super::PeerError;

/// The protocol version both sides speak.
pub const PROTOCOL_VERSION: &str = "1";

/// A message on the wire. Kinds this peer has no use for decode to `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Join {
        sender: String,
    },
    Peer {
        sender: String,
        target: String,
        version: String,
    },
    Request {
        doc: String,
        sender: String,
        target: String,
        data: Vec<u8>,
    },
    Sync {
        doc: String,
        sender: String,
        target: String,
        data: Vec<u8>,
    },
    DocUnavailable {
        doc: String,
        sender: String,
        target: String,
    },
    Error {
        message: String,
    },
    Other {
        kind: String,
    },
}

impl Message {
    /// Encodes the message as one binary frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = encode_into(self, &mut e);
        e.into_writer()
    }

    /// Decodes one binary frame.
    pub fn decode(bytes: &[u8]) -> Result<Message, PeerError> {
        decode(bytes).map_err(|e| PeerError::Malformed(e.to_string()))
    }
}

fn encode_into(
    m: &Message,
    e: &mut Encoder<Vec<u8>>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    match m {
        Message::Join { sender } => {
            e.map(4)?;
            e.str("type")?.str("join")?;
            e.str("senderId")?.str(sender)?;
            e.str("supportedProtocolVersions")?
                .array(1)?
                .str(PROTOCOL_VERSION)?;
            e.str("peerMetadata")?
                .map(1)?
                .str("isEphemeral")?
                .bool(false)?;
        }
        Message::Peer {
            sender,
            target,
            version,
        } => {
            e.map(4)?;
            e.str("type")?.str("peer")?;
            e.str("senderId")?.str(sender)?;
            e.str("targetId")?.str(target)?;
            e.str("selectedProtocolVersion")?.str(version)?;
        }
        Message::Request {
            doc,
            sender,
            target,
            data,
        }
        | Message::Sync {
            doc,
            sender,
            target,
            data,
        } => {
            let kind = if matches!(m, Message::Request { .. }) {
                "request"
            } else {
                "sync"
            };
            e.map(5)?;
            e.str("type")?.str(kind)?;
            e.str("documentId")?.str(doc)?;
            e.str("senderId")?.str(sender)?;
            e.str("targetId")?.str(target)?;
            e.str("data")?.bytes(data)?;
        }
        Message::DocUnavailable {
            doc,
            sender,
            target,
        } => {
            e.map(4)?;
            e.str("type")?.str("doc-unavailable")?;
            e.str("documentId")?.str(doc)?;
            e.str("senderId")?.str(sender)?;
            e.str("targetId")?.str(target)?;
        }
        Message::Error { message } => {
            e.map(2)?;
            e.str("type")?.str("error")?;
            e.str("message")?.str(message)?;
        }
        Message::Other { kind } => {
            e.map(1)?;
            e.str("type")?.str(kind)?;
        }
    }
    Ok(())
}

/// The document a `sync` frame carries, read without copying its data. The
/// server uses it to tell which peer offered a document it has never seen.
pub fn sync_document(bytes: &[u8]) -> Option<String> {
    let mut d = Decoder::new(bytes);
    let len = d.map().ok()??;
    let (mut is_sync, mut doc) = (false, None);
    for _ in 0..len {
        match d.str().ok()? {
            "type" => is_sync = d.str().ok()? == "sync",
            "documentId" => doc = Some(document_id(&mut d).ok()?),
            _ => d.skip().ok()?,
        }
    }
    doc.filter(|_| is_sync)
}

fn document_id(d: &mut Decoder) -> Result<String, minicbor::decode::Error> {
    Ok(match d.datatype()? {
        Type::String => d.str()?.to_string(),
        // Some peers send the raw id bytes; the URL form is bs58check of them.
        _ => bs58::encode(d.bytes()?).with_check().into_string(),
    })
}

#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender: Option<String>,
    target: Option<String>,
    doc: Option<String>,
    data: Option<Vec<u8>>,
    message: Option<String>,
    version: Option<String>,
}

fn decode(bytes: &[u8]) -> Result<Message, minicbor::decode::Error> {
    let mut d = Decoder::new(bytes);
    let len = d
        .map()?
        .ok_or_else(|| minicbor::decode::Error::message("indefinite-length map"))?;
    let mut f = Fields::default();
    for _ in 0..len {
        let key = d.str()?;
        match key {
            "type" => f.kind = Some(d.str()?.to_string()),
            "senderId" => f.sender = Some(d.str()?.to_string()),
            "targetId" => f.target = Some(d.str()?.to_string()),
            "message" => f.message = Some(d.str()?.to_string()),
            "selectedProtocolVersion" => f.version = Some(d.str()?.to_string()),
            "documentId" => f.doc = Some(document_id(&mut d)?),
            "data" => f.data = Some(d.bytes()?.to_vec()),
            _ => d.skip()?,
        }
    }
    let missing = |what: &str| minicbor::decode::Error::message(format!("message without {what}"));
    let kind = f.kind.ok_or_else(|| missing("type"))?;
    Ok(match kind.as_str() {
        "join" => Message::Join {
            sender: f.sender.ok_or_else(|| missing("senderId"))?,
        },
        "peer" => Message::Peer {
            sender: f.sender.ok_or_else(|| missing("senderId"))?,
            target: f.target.unwrap_or_default(),
            version: f.version.unwrap_or_else(|| PROTOCOL_VERSION.into()),
        },
        "request" | "sync" => {
            let (doc, sender, target, data) = (
                f.doc.ok_or_else(|| missing("documentId"))?,
                f.sender.ok_or_else(|| missing("senderId"))?,
                f.target.unwrap_or_default(),
                f.data.ok_or_else(|| missing("data"))?,
            );
            if kind == "request" {
                Message::Request {
                    doc,
                    sender,
                    target,
                    data,
                }
            } else {
                Message::Sync {
                    doc,
                    sender,
                    target,
                    data,
                }
            }
        }
        "doc-unavailable" => Message::DocUnavailable {
            doc: f.doc.ok_or_else(|| missing("documentId"))?,
            sender: f.sender.unwrap_or_default(),
            target: f.target.unwrap_or_default(),
        },
        "error" => Message::Error {
            message: f.message.unwrap_or_default(),
        },
        _ => Message::Other { kind },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_document_of_sync_frames_only() {
        let sync = Message::Sync {
            doc: "2FPg".into(),
            sender: "a".into(),
            target: "s".into(),
            data: vec![1, 2, 3],
        };
        assert_eq!(sync_document(&sync.encode()).as_deref(), Some("2FPg"));
        let request = Message::Request {
            doc: "2FPg".into(),
            sender: "a".into(),
            target: "s".into(),
            data: vec![],
        };
        assert_eq!(sync_document(&request.encode()), None);
        assert_eq!(sync_document(b"not cbor"), None);
    }

    #[test]
    fn round_trips() {
        for m in [
            Message::Join { sender: "a".into() },
            Message::Peer {
                sender: "s".into(),
                target: "a".into(),
                version: "1".into(),
            },
            Message::Sync {
                doc: "2FPg".into(),
                sender: "a".into(),
                target: "s".into(),
                data: vec![1, 2, 3],
            },
            Message::Request {
                doc: "2FPg".into(),
                sender: "a".into(),
                target: "s".into(),
                data: vec![],
            },
            Message::DocUnavailable {
                doc: "x".into(),
                sender: "s".into(),
                target: "a".into(),
            },
            Message::Error {
                message: "bad".into(),
            },
        ] {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn garbage_is_an_error_and_unknown_kinds_are_kept() {
        assert!(Message::decode(&[0xff, 0x00]).is_err());
        assert!(
            Message::decode(
                &Message::Other {
                    kind: "sync".into()
                }
                .encode()
            )
            .is_err(),
            "sync without fields"
        );
        let m = Message::Other {
            kind: "ephemeral".into(),
        };
        assert_eq!(Message::decode(&m.encode()).unwrap(), m);
    }
}
