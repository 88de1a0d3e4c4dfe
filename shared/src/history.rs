//! Per-field history of a customer (who changed which field, when, from what to
//! what): the difference between the customer before and after one change.

use serde::{Deserialize, Serialize};

use crate::customer::Customer;

/// One field's change.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field, in the operator's words (e.g. "地址", "联系人 王总 · 电话").
    pub field: String,
    pub from: String,
    pub to: String,
}

/// One change of a customer document, as the history shows it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it was made (the device's clock), else when the server received it;
    /// RFC 3339.
    pub at: String,
    /// Whether `at` is the time the server received it (the device gave none).
    pub received: bool,
    /// Username of the person whose device made it, or "" when unknown.
    pub user: String,
    /// Their name, as people read it (a display name such as 张伟).
    #[serde(default)]
    pub user_name: String,
    /// The device (automerge actor), shortened.
    pub device: String,
    pub changes: Vec<FieldChange>,
}

fn push(out: &mut Vec<FieldChange>, field: &str, from: &str, to: &str) {
    if from != to {
        out.push(FieldChange {
            field: field.into(),
            from: from.into(),
            to: to.into(),
        });
    }
}

/// What differs between two versions of a customer, field by field. Lists (visits,
/// complaints, agreements, …) report what was added or removed and, for contacts
/// and complaints, which field of which item changed.
pub fn field_changes(before: &Customer, after: &Customer) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for (field, a, b) in [
        ("客户名称", &before.name, &after.name),
        ("统一社会信用代码", &before.credit_code, &after.credit_code),
        ("地址", &before.address, &after.address),
        ("行业", &before.industry, &after.industry),
        ("经营范围", &before.scope, &after.scope),
        ("备注", &before.notes, &after.notes),
        ("信用/付款记录", &before.credit_record, &after.credit_record),
        (
            "合作年限",
            &before.cooperation_years,
            &after.cooperation_years,
        ),
        (
            "发展潜力",
            &before.growth_potential,
            &after.growth_potential,
        ),
        ("偏好", &before.preferences, &after.preferences),
        (
            "经营状况",
            &before.business_situation,
            &after.business_situation,
        ),
    ] {
        push(&mut out, field, a, b);
    }
    push(
        &mut out,
        "客户性质",
        before.nature.label_zh(),
        after.nature.label_zh(),
    );
    let lines = |c: &Customer| {
        c.lines
            .iter()
            .map(|l| l.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    push(&mut out, "业务类型", &lines(before), &lines(after));

    for c in &after.contacts {
        match before.contacts.iter().find(|o| o.id == c.id) {
            None => push(&mut out, "新增联系人", "", &c.name),
            Some(o) => {
                for (what, a, b) in [
                    ("姓名", &o.name, &c.name),
                    ("职务", &o.position, &c.position),
                    ("电话", &o.phone, &c.phone),
                    ("生日", &o.birthday, &c.birthday),
                ] {
                    push(&mut out, &format!("联系人 {} · {what}", c.name), a, b);
                }
                push(
                    &mut out,
                    &format!("联系人 {} · 角色", c.name),
                    o.role.label_zh(),
                    c.role.label_zh(),
                );
            }
        }
    }
    for o in &before.contacts {
        if !after.contacts.iter().any(|c| c.id == o.id) {
            push(&mut out, "删除联系人", &o.name, "");
        }
    }
    for v in &after.visits {
        if !before.visits.iter().any(|o| o.id == v.id) {
            push(
                &mut out,
                "新增走访",
                "",
                &format!("{} {}", v.date, v.purpose),
            );
        }
    }
    for k in &after.competitors {
        if !before.competitors.iter().any(|o| o.id == k.id) {
            push(
                &mut out,
                "新增竞争对手",
                "",
                &format!("{} {}", k.name, k.business),
            );
        }
    }
    // Follow-ups 督办: each step shows under who took it, and when.
    let follow_ups = |c: &Customer| -> Vec<crate::customer::FollowUp> {
        c.visits
            .iter()
            .flat_map(|v| v.follow_ups.iter().cloned())
            .collect()
    };
    let earlier = follow_ups(before);
    for f in follow_ups(after) {
        let o = earlier
            .iter()
            .find(|o| o.id == f.id)
            .cloned()
            .unwrap_or_default();
        let name = |what: &str| format!("督办 {} · {what}", f.action);
        push(
            &mut out,
            &name("状态"),
            o.state().label_zh(),
            f.state().label_zh(),
        );
        push(&mut out, &name("转交给"), &o.forwarded_to, &f.forwarded_to);
        push(&mut out, &name("处理结果"), &o.result, &f.result);
        let told = |x: &crate::customer::FollowUp| {
            if x.told_customer {
                "已告知客户"
            } else {
                ""
            }
        };
        push(&mut out, &name("告知客户"), told(&o), told(&f));
    }
    for k in &after.complaints {
        match before.complaints.iter().find(|o| o.id == k.id) {
            None => push(&mut out, "登记投诉", "", &k.content),
            Some(o) => push(
                &mut out,
                &format!("投诉 {}", k.id),
                crate::complaints::label_zh(&o.status),
                crate::complaints::label_zh(&k.status),
            ),
        }
    }
    for a in &after.agreements {
        match before.agreements.iter().find(|o| o.id == a.id) {
            None => push(&mut out, "新增协议", "", &a.number),
            Some(o) => push(
                &mut out,
                &format!("协议 {} · 状态", a.number),
                &o.status,
                &a.status,
            ),
        }
    }
    for p in &after.plans {
        let target = |x: i64| format!("{:.2}", x as f64 / 100.0);
        match before.plans.iter().find(|o| o.year == p.year) {
            None => push(
                &mut out,
                &format!("{}年度计划", p.year),
                "",
                &target(p.target_revenue_fen),
            ),
            Some(o) => push(
                &mut out,
                &format!("{}年度计划 · 目标收入", p.year),
                &target(o.target_revenue_fen),
                &target(p.target_revenue_fen),
            ),
        }
    }
    if after.ledger.len() != before.ledger.len() {
        push(
            &mut out,
            "用邮台帐（条）",
            &before.ledger.len().to_string(),
            &after.ledger.len().to_string(),
        );
    }
    for h in after.handovers.iter().skip(before.handovers.len()) {
        push(&mut out, "客户交接", &h.from_primary, &h.to_primary);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Contact, Visit};
    use crate::vocab::{Line, Nature};

    #[test]
    fn names_each_changed_field_with_both_values() {
        let mut before = Customer::new("甲公司", "", Nature::Enterprise, vec![Line::Delivery]);
        before.contacts.push(Contact {
            id: "k1".into(),
            name: "王总".into(),
            phone: "139".into(),
            ..Default::default()
        });
        let mut after = before.clone();
        after.address = "上海市".into();
        after.contacts[0].phone = "138".into();
        after.visits.push(Visit {
            id: "v1".into(),
            date: "2026-11-02".into(),
            purpose: "日常走访".into(),
            ..Default::default()
        });
        let c = field_changes(&before, &after);
        assert_eq!(
            c,
            vec![
                FieldChange {
                    field: "地址".into(),
                    from: "".into(),
                    to: "上海市".into()
                },
                FieldChange {
                    field: "联系人 王总 · 电话".into(),
                    from: "139".into(),
                    to: "138".into()
                },
                FieldChange {
                    field: "新增走访".into(),
                    from: "".into(),
                    to: "2026-11-02 日常走访".into()
                },
            ]
        );
        assert!(field_changes(&after, &after).is_empty());
    }

    #[test]
    fn a_closed_follow_up_shows_its_state_and_result() {
        use crate::customer::FollowUp;
        use crate::vocab::FollowUpState;
        let mut before = Customer::new("甲公司", "", Nature::Enterprise, vec![]);
        before.visits.push(Visit {
            id: "v1".into(),
            follow_ups: vec![FollowUp {
                id: "f1".into(),
                action: "报价".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        let mut after = before.clone();
        let f = &mut after.visits[0].follow_ups[0];
        (f.state, f.closed, f.result, f.told_customer) =
            (FollowUpState::Done, true, "已报价".into(), true);
        let fields: Vec<(String, String)> = field_changes(&before, &after)
            .into_iter()
            .map(|c| (c.field, c.to))
            .collect();
        assert_eq!(
            fields,
            [
                ("督办 报价 · 状态".to_string(), "已办结".to_string()),
                ("督办 报价 · 处理结果".to_string(), "已报价".to_string()),
                ("督办 报价 · 告知客户".to_string(), "已告知客户".to_string()),
            ]
        );
    }
}
