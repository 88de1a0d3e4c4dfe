//! Customer numbers 客户编号: the server gives each approved customer one,
//! from a pattern in the operator's rules (`numbers.pattern`), e.g.
//! `31{line}{seq:6}` → `31JD000042`. Placeholders: `{year}` (the year it is
//! numbered), `{line}` (its first business line: JD 寄递, JR 金融, YW 邮务,
//! HJ 函件), `{unit}` (its unit's code) and `{seq:N}` (a sequence of N
//! digits, 1–12, counted per everything else the number holds). The rest is
//! taken as written: letters, digits, `-` and `_`.

use serde::{Deserialize, Serialize};

use crate::vocab::Line;

/// The numbering rules.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NumberRules {
    pub pattern: String,
}

impl Default for NumberRules {
    fn default() -> Self {
        NumberRules {
            pattern: "KH{year}{seq:6}".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Year,
    Line,
    Unit,
    Seq(usize),
}

/// A pattern, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(Vec<Part>);

/// What a number is made of, besides its sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts<'a> {
    pub year: i64,
    pub line: Option<&'a Line>,
    pub unit: &'a str,
}

/// The code of a line in a number.
pub fn line_code(line: Option<&Line>) -> &'static str {
    match line {
        Some(Line::Delivery) => "JD",
        Some(Line::Finance) => "JR",
        Some(Line::Postal) => "YW",
        Some(Line::Letter) => "HJ",
        _ => "QT",
    }
}

impl Pattern {
    /// Reads a pattern; `Err` names what is wrong with it, in both languages.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        let mut seqs = 0;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some((name, tail)) = after.split_once('}') else {
                    return Err(format!(
                        "“{{”没有对应的“}}” / a {{ is not closed in {pattern:?}"
                    ));
                };
                parts.push(match name {
                    "year" => Part::Year,
                    "line" => Part::Line,
                    "unit" => Part::Unit,
                    _ => match name.strip_prefix("seq:").map(str::parse::<usize>) {
                        Some(Ok(n)) if (1..=12).contains(&n) => {
                            seqs += 1;
                            Part::Seq(n)
                        }
                        Some(_) => {
                            return Err(format!(
                                "序号位数应为 1 到 12：{{{name}}} / the sequence has 1 to 12 digits: {{{name}}}"
                            ));
                        }
                        None => {
                            return Err(format!(
                                "没有占位符 {{{name}}}：可用 {{year}}、{{line}}、{{unit}}、{{seq:N}} / unknown placeholder {{{name}}}: use {{year}}, {{line}}, {{unit}} or {{seq:N}}"
                            ));
                        }
                    },
                });
                rest = tail;
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let text = &rest[..end];
                if let Some(bad) = text
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
                {
                    return Err(format!(
                        "编号只能含字母、数字、“-”和“_”，不能有“{bad}” / a number holds only letters, digits, - and _, not {bad:?}"
                    ));
                }
                parts.push(Part::Text(text.to_string()));
                rest = &rest[end..];
            }
        }
        if seqs != 1 {
            return Err(format!(
                "编号格式须含且只含一个 {{seq:N}}（序号） / the pattern needs exactly one {{seq:N}} (the sequence), not {seqs}"
            ));
        }
        Ok(Pattern(parts))
    }

    /// What the sequence is counted per: the number without its sequence.
    pub fn key(&self, f: &Facts) -> String {
        self.expand(f, None)
    }

    /// The number with sequence `seq`.
    pub fn number(&self, f: &Facts, seq: u64) -> String {
        self.expand(f, Some(seq))
    }

    fn expand(&self, f: &Facts, seq: Option<u64>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Year => out.push_str(&format!("{:04}", f.year)),
                Part::Line => out.push_str(line_code(f.line)),
                Part::Unit => out.push_str(f.unit),
                Part::Seq(n) => match seq {
                    Some(s) => out.push_str(&format!("{s:0n$}", n = *n)),
                    None => out.push('#'),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_makes_numbers() {
        let p = Pattern::parse("31{line}{seq:6}").unwrap();
        let f = Facts {
            year: 2026,
            line: Some(&Line::Delivery),
            unit: "so-east",
        };
        assert_eq!(p.number(&f, 42), "31JD000042");
        assert_eq!(p.key(&f), "31JD#");
        let q = Pattern::parse("KH-{year}-{unit}-{seq:4}").unwrap();
        assert_eq!(q.number(&f, 7), "KH-2026-so-east-0007");
        let d = Pattern::parse(&NumberRules::default().pattern).unwrap();
        assert_eq!(d.number(&Facts { line: None, ..f }, 1), "KH2026000001");
    }

    #[test]
    fn a_bad_pattern_is_refused_naming_the_problem() {
        for (pattern, says) in [
            ("31{line}", "exactly one {seq:N}"),
            ("{seq:3}{seq:3}", "exactly one {seq:N}"),
            ("{seq:0}", "1 to 12 digits"),
            ("{seq:13}", "1 to 12 digits"),
            ("{seq:x}", "1 to 12 digits"),
            ("{city}{seq:4}", "unknown placeholder {city}"),
            ("{seq:4", "not closed"),
            ("客户{seq:4}", "only letters, digits"),
            ("A B{seq:4}", "only letters, digits"),
            ("", "exactly one {seq:N}"),
        ] {
            let e = Pattern::parse(pattern).unwrap_err();
            assert!(e.contains(says), "{pattern:?}: {e}");
        }
    }
}
