//! Registration (报备) and ownership (docs/domain.md, Registration and ownership).
//!
//! Whoever registers first owns it, per business line, and the owner is a unit.
//! "First" is the order in which registrations reached the server. A later
//! registration of the same customer (same credit code, else same normalised
//! name) is linked to it: for lines already owned it is a duplicate claim; lines
//! nobody claimed yet go to the later unit.

use std::collections::BTreeMap;

use crate::vocab::Line;

/// A registration as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub doc_id: String,
    pub unit: String,
    pub name: String,
    pub credit_code: String,
    pub lines: Vec<Line>,
    /// Position in the server's receipt order (durable, increasing).
    pub received: u64,
}

/// The outcome for one registration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// The earliest registration of the same customer, if this is not the first.
    pub same_as: Option<String>,
    /// Lines this registration's unit owns.
    pub owned: Vec<Line>,
    /// Lines already owned by an earlier registration: (line, owning unit).
    pub duplicate: Vec<(Line, String)>,
}

/// Company-form suffixes and markers that do not tell two customers apart.
const SUFFIXES: [&str; 8] = [
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "公司",
    "co.,ltd",
    "ltd",
];

/// The name used to find duplicates: half-width, lower case, no spaces or
/// punctuation, and no company-form suffix.
pub fn normalise_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| {
            !c.is_whitespace()
                && !c.is_ascii_punctuation()
                && !"（）【】「」『』《》、，。·・—".contains(*c)
        })
        .collect();
    loop {
        let before = s.len();
        for suffix in SUFFIXES {
            let bare: String = suffix
                .chars()
                .filter(|c| !c.is_ascii_punctuation())
                .collect();
            if s.len() > bare.len() && s.ends_with(&bare) {
                s.truncate(s.len() - bare.len());
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

/// The credit code in canonical form (upper case, no spaces), or empty.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether two registrations name the same customer: the same credit code when
/// both have one, else the same normalised name.
pub fn same_customer(a: &Registration, b: &Registration) -> bool {
    let (ca, cb) = (
        normalise_code(&a.credit_code),
        normalise_code(&b.credit_code),
    );
    if !ca.is_empty() && !cb.is_empty() {
        return ca == cb;
    }
    let (na, nb) = (normalise_name(&a.name), normalise_name(&b.name));
    !na.is_empty() && na == nb
}

/// Decides every registration, in receipt order whatever order they are given in.
pub fn decide_all(registrations: &[Registration]) -> BTreeMap<String, Decision> {
    let mut ordered: Vec<&Registration> = registrations.iter().collect();
    ordered.sort_by(|a, b| (a.received, &a.doc_id).cmp(&(b.received, &b.doc_id)));
    let mut out = BTreeMap::new();
    // For each earliest registration of a customer: line -> owning unit.
    let mut owners: Vec<(&Registration, BTreeMap<Line, String>)> = Vec::new();
    for r in ordered {
        let mut decision = Decision::default();
        let group = owners.iter_mut().find(|(first, _)| same_customer(first, r));
        let lines = match group {
            Some((first, lines)) => {
                decision.same_as = Some(first.doc_id.clone());
                lines
            }
            None => {
                owners.push((r, BTreeMap::new()));
                &mut owners.last_mut().expect("just pushed").1
            }
        };
        for line in &r.lines {
            match lines.get(line) {
                Some(unit) if *unit != r.unit => {
                    decision.duplicate.push((line.clone(), unit.clone()))
                }
                Some(_) => decision.owned.push(line.clone()),
                None => {
                    lines.insert(line.clone(), r.unit.clone());
                    decision.owned.push(line.clone());
                }
            }
        }
        out.insert(r.doc_id.clone(), decision);
    }
    out
}

/// Applies a person's rulings (a unit head ruling otherwise: docs/domain.md,
/// Registration and ownership): each `(doc_id, line)` gives that line to that
/// registration; the others in its group then hold it as a duplicate of that
/// registration's unit.
pub fn apply_rulings(
    decisions: &mut BTreeMap<String, Decision>,
    registrations: &[Registration],
    rulings: &[(String, Line)],
) {
    for (winner, line) in rulings {
        let Some(w) = registrations.iter().find(|r| r.doc_id == *winner) else {
            continue;
        };
        for r in registrations.iter().filter(|r| same_customer(r, w)) {
            let Some(d) = decisions.get_mut(&r.doc_id) else {
                continue;
            };
            d.owned.retain(|l| l != line);
            d.duplicate.retain(|(l, _)| l != line);
            if r.doc_id == *winner {
                d.owned.push(line.clone());
            } else if r.lines.contains(line) {
                d.duplicate.push((line.clone(), w.unit.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(
        doc: &str,
        unit: &str,
        name: &str,
        code: &str,
        lines: &[Line],
        received: u64,
    ) -> Registration {
        Registration {
            doc_id: doc.into(),
            unit: unit.into(),
            name: name.into(),
            credit_code: code.into(),
            lines: lines.to_vec(),
            received,
        }
    }

    #[test]
    fn names_normalise_width_spaces_punctuation_and_suffixes() {
        assert_eq!(
            normalise_name("麦德龙 商业集团有限公司"),
            normalise_name("麦德龙商业")
        );
        assert_eq!(
            normalise_name("ＡＢＣ（上海）有限公司"),
            normalise_name("abc上海")
        );
        assert_eq!(normalise_name("美之家股份有限公司"), "美之家");
        assert_ne!(normalise_name("美之家"), normalise_name("美之佳"));
        assert_eq!(normalise_code(" 9131 0000x "), "91310000X");
    }

    #[test]
    fn first_to_reach_the_server_owns_each_line() {
        let a = reg("a", "east", "美之家有限公司", "", &[Line::Delivery], 1);
        let b = reg(
            "b",
            "west",
            "美之家",
            "",
            &[Line::Delivery, Line::Finance],
            2,
        );
        let d = decide_all(&[b.clone(), a.clone()]);
        assert_eq!(
            d["a"],
            Decision {
                same_as: None,
                owned: vec![Line::Delivery],
                duplicate: vec![]
            }
        );
        assert_eq!(d["b"].same_as.as_deref(), Some("a"));
        assert_eq!(d["b"].owned, vec![Line::Finance]);
        assert_eq!(d["b"].duplicate, vec![(Line::Delivery, "east".to_string())]);
    }

    #[test]
    fn a_ruling_moves_a_line_to_the_later_registration() {
        let a = reg("a", "east", "美之家", "", &[Line::Delivery], 1);
        let b = reg("b", "west", "美之家", "", &[Line::Delivery], 2);
        let regs = [a, b];
        let mut d = decide_all(&regs);
        apply_rulings(&mut d, &regs, &[("b".into(), Line::Delivery)]);
        assert_eq!(d["b"].owned, vec![Line::Delivery]);
        assert!(d["b"].duplicate.is_empty());
        assert_eq!(d["a"].owned, Vec::<Line>::new());
        assert_eq!(d["a"].duplicate, vec![(Line::Delivery, "west".to_string())]);
    }

    #[test]
    fn credit_codes_decide_before_names() {
        let a = reg("a", "east", "甲公司", "91310000AAA", &[Line::Postal], 1);
        let b = reg("b", "west", "甲公司", "91310000BBB", &[Line::Postal], 2);
        assert!(
            decide_all(&[a, b])["b"].same_as.is_none(),
            "different codes: different customers"
        );
    }

    #[test]
    fn the_decision_does_not_depend_on_the_order_replicas_list_them() {
        // A small exhaustive property: every permutation of the same registrations.
        let regs = vec![
            reg("a", "east", "华联", "", &[Line::Delivery], 3),
            reg(
                "b",
                "west",
                "华联有限公司",
                "",
                &[Line::Delivery, Line::Letter],
                1,
            ),
            reg("c", "south", "华 联", "", &[Line::Letter, Line::Finance], 2),
            reg("d", "north", "别的", "", &[Line::Delivery], 4),
        ];
        let expected = decide_all(&regs);
        let mut perm = regs.clone();
        for i in 0..24 {
            // Heap's-like rotation through permutations.
            perm.rotate_left(1 + i % 3);
            if i % 2 == 0 {
                perm.swap(0, 3);
            }
            assert_eq!(decide_all(&perm), expected);
        }
        assert_eq!(expected["b"].owned, vec![Line::Delivery, Line::Letter]);
        assert_eq!(expected["c"].owned, vec![Line::Finance]);
        assert_eq!(
            expected["a"].duplicate,
            vec![(Line::Delivery, "west".into())]
        );
    }
}
