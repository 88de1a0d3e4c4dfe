//! The bad-credit warning list 不良资信 / 内控预警 (docs/domain.md, Bad-credit list): customers
//! who abused agency fees, ran up arrears on purpose or defrauded premiums. Managers
//! report, the center confirms, and confirmed entries go to every user in one shared,
//! server-written document, so the warning shows on a tablet offline too.

use automerge::ROOT;
use autosurgeon::{Doc, Hydrate, ReadDoc, Reconcile, hydrate};
use serde::{Deserialize, Serialize};

use crate::onepass::OnePass;
use crate::ownership::{normalise_code, normalise_name};
use crate::{SCHEMA_VERSION, SchemaError, flex};

/// The `type` of the warning-list document.
pub const WARNINGS_TYPE: &str = "credit_warnings";

/// What the customer did (docs/domain.md, Bad-credit list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    AgencyFeeAbuse,
    DeliberateArrears,
    PremiumFraud,
    Other,
}

impl WarningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::AgencyFeeAbuse => "agency_fee_abuse",
            WarningKind::DeliberateArrears => "deliberate_arrears",
            WarningKind::PremiumFraud => "premium_fraud",
            WarningKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<WarningKind> {
        [
            WarningKind::AgencyFeeAbuse,
            WarningKind::DeliberateArrears,
            WarningKind::PremiumFraud,
            WarningKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            WarningKind::AgencyFeeAbuse => "套取代办费",
            WarningKind::DeliberateArrears => "恶意欠费",
            WarningKind::PremiumFraud => "骗取保费",
            WarningKind::Other => "其他不良资信",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            WarningKind::AgencyFeeAbuse => "Agency fee abuse",
            WarningKind::DeliberateArrears => "Deliberate arrears",
            WarningKind::PremiumFraud => "Premium fraud",
            WarningKind::Other => "Other bad credit",
        }
    }
}

crate::labelled!(WarningKind);

/// One confirmed warning: who, and which kind; not the case file.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Warning {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    #[autosurgeon(with = "flex::string")]
    pub credit_code: String,
    #[autosurgeon(with = "flex::string")]
    pub kind: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub confirmed_on: String,
}

/// The shared warning-list document.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct WarningList {
    #[autosurgeon(rename = "type", with = "flex::string")]
    pub doc_type: String,
    #[autosurgeon(with = "flex::int")]
    pub schema: i64,
    #[autosurgeon(missing = "Vec::new")]
    pub entries: Vec<Warning>,
}

impl WarningList {
    pub fn new() -> Self {
        WarningList {
            doc_type: WARNINGS_TYPE.into(),
            schema: SCHEMA_VERSION as i64,
            entries: Vec::new(),
        }
    }

    pub fn load<D: ReadDoc>(doc: &D) -> Result<Self, SchemaError> {
        let found = flex::read_string(doc, &ROOT, "type".into())?;
        if found != WARNINGS_TYPE {
            return Err(SchemaError::WrongType {
                expected: WARNINGS_TYPE,
                found,
            });
        }
        Ok(hydrate(&OnePass::new(doc))?)
    }

    pub fn save<T: Doc>(&self, tx: &mut T) -> Result<(), SchemaError> {
        autosurgeon::reconcile(tx, self)?;
        Ok(())
    }

    /// The warnings about a customer with this name and credit code: the same code
    /// when both have one, else the same normalised name.
    pub fn matching(&self, name: &str, credit_code: &str) -> Vec<&Warning> {
        let (code, norm) = (normalise_code(credit_code), normalise_name(name));
        self.entries
            .iter()
            .filter(|w| {
                let wc = normalise_code(&w.credit_code);
                if !wc.is_empty() && !code.is_empty() {
                    wc == code
                } else {
                    let wn = normalise_name(&w.name);
                    !wn.is_empty() && wn == norm
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_by_code_else_by_name() {
        let mut l = WarningList::new();
        l.entries.push(Warning {
            id: "1".into(),
            name: "坑人贸易有限公司".into(),
            credit_code: "91310000BAD0000001".into(),
            kind: "deliberate_arrears".into(),
            confirmed_on: "2026-11-01".into(),
        });
        l.entries.push(Warning {
            id: "2".into(),
            name: "骗保咨询".into(),
            credit_code: "".into(),
            kind: "premium_fraud".into(),
            confirmed_on: "2026-11-01".into(),
        });
        assert_eq!(
            l.matching("别的名字", "91310000bad0000001").len(),
            1,
            "same code, any name"
        );
        assert_eq!(
            l.matching("坑人贸易", "91310000OTHER").len(),
            0,
            "different codes"
        );
        assert_eq!(l.matching("坑人贸易", "").len(), 1, "no code: by name");
        assert_eq!(
            l.matching("骗保咨询有限公司", "91310000X").len(),
            1,
            "warning without code: by name"
        );
        assert!(l.matching("正常客户", "").is_empty());
        let mut doc = automerge::AutoCommit::new();
        l.save(&mut doc).unwrap();
        assert_eq!(WarningList::load(&doc).unwrap(), l);
    }
}
