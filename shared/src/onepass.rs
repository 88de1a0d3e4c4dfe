//! A read-only view of a document that reads each map and list in one pass.
//!
//! autosurgeon's derived `Hydrate` asks for every field with its own `get`, and
//! automerge 0.12 seeks through the object's operations for each one. Reading a
//! customer with many visits that way was most of the server's CPU time in a
//! visit storm (BENCHMARKS.md). This view reads a whole map or list the first
//! time any of it is asked for and answers the other fields from that.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;
use std::rc::Rc;

use automerge::{self as am, AutomergeError, ObjId, ObjType, Value};
use autosurgeon::ReadDoc;

type Entry = (Value<'static>, ObjId);

/// An object as read in its one pass.
enum Object {
    Map(HashMap<String, Entry>),
    List(Vec<Entry>),
    /// Text, or no such object: left to the document.
    Other,
}

/// `doc`, read one object at a time; for hydrating, not for long-lived use.
pub struct OnePass<'a, D: ReadDoc> {
    doc: &'a D,
    objects: RefCell<HashMap<ObjId, Rc<Object>>>,
}

impl<'a, D: ReadDoc> OnePass<'a, D> {
    pub fn new(doc: &'a D) -> Self {
        OnePass {
            doc,
            objects: RefCell::default(),
        }
    }

    fn object(&self, obj: &ObjId) -> Rc<Object> {
        if let Some(o) = self.objects.borrow().get(obj) {
            return o.clone();
        }
        let o = Rc::new(match self.doc.object_type(obj) {
            Some(ObjType::Map | ObjType::Table) => Object::Map(
                self.doc
                    .map_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.key.into_owned(), (item.value.into_value(), id))
                    })
                    .collect(),
            ),
            Some(ObjType::List) => Object::List(
                self.doc
                    .list_range(obj, ..)
                    .map(|item| {
                        let id = item.id();
                        (item.value.into_value(), id)
                    })
                    .collect(),
            ),
            _ => Object::Other,
        });
        self.objects.borrow_mut().insert(obj.clone(), o.clone());
        o
    }
}

impl<D: ReadDoc> ReadDoc for OnePass<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<am::ChangeHash> {
        self.doc.get_heads()
    }

    fn get<P: Into<am::Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        match (&*self.object(obj), &prop) {
            (Object::Map(m), am::Prop::Map(key)) => Ok(m.get(key.as_str()).cloned()),
            (Object::List(l), am::Prop::Seq(i)) => Ok(l.get(*i).cloned()),
            // Text, or a key of the wrong kind: as the document answers it.
            _ => self.doc.get(obj, prop),
        }
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.doc.object_type(obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> am::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> am::iter::ListRange<'_> {
        self.doc.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        let obj = obj.as_ref();
        match &*self.object(obj) {
            Object::List(l) => l.len(),
            _ => self.doc.length(obj),
        }
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.doc.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{self, Customer, Visit};
    use crate::vocab::Nature;
    use automerge::transaction::Transactable as _;
    use automerge::{AutoCommit, ROOT};

    /// A customer edited on two devices at once (the same field set to two
    /// values, visits added and deleted, a note typed in), then merged.
    fn merged() -> AutoCommit {
        let mut a = AutoCommit::new();
        Customer::new("甲", "", Nature::Enterprise, vec![])
            .create(&mut a)
            .unwrap();
        let mut b = a.fork();
        customer::set_field(&mut a, "address", "南京西路1号").unwrap();
        customer::set_field(&mut b, "address", "淮海中路2号").unwrap();
        for (doc, who) in [(&mut a, "a"), (&mut b, "b")] {
            for i in 0..5 {
                customer::add_visit(
                    doc,
                    &Visit {
                        id: format!("{who}{i}"),
                        date: format!("2026-11-0{}", i + 1),
                        summary: format!("拜访 {who}{i}"),
                        ..Default::default()
                    },
                )
                .unwrap();
            }
        }
        let visits = automerge::ReadDoc::get(&a, ROOT, "visits")
            .unwrap()
            .unwrap()
            .1;
        a.delete(&visits, 2).unwrap();
        a.merge(&mut b).unwrap();
        a
    }

    #[test]
    fn answers_as_the_document_does() {
        let doc = merged();
        let one = OnePass::new(&doc);
        // Every key of the root, conflicts included: the same winner.
        for key in automerge::ReadDoc::keys(&doc, ROOT) {
            assert_eq!(
                autosurgeon::ReadDoc::get(&one, &ROOT, key.as_str()).unwrap(),
                automerge::ReadDoc::get(&doc, ROOT, key.as_str()).unwrap(),
                "{key}"
            );
        }
        assert_eq!(
            autosurgeon::ReadDoc::get(&one, &ROOT, "no such key").unwrap(),
            None
        );
        let visits = automerge::ReadDoc::get(&doc, ROOT, "visits")
            .unwrap()
            .unwrap()
            .1;
        assert_eq!(autosurgeon::ReadDoc::length(&one, &visits), 9);
        for i in 0..10 {
            assert_eq!(
                autosurgeon::ReadDoc::get(&one, &visits, i).unwrap(),
                automerge::ReadDoc::get(&doc, &visits, i).unwrap(),
            );
        }
    }

    #[test]
    fn hydrates_the_same_customer() {
        let doc = merged();
        let direct: Customer = autosurgeon::hydrate(&doc).unwrap();
        let one: Customer = autosurgeon::hydrate(&OnePass::new(&doc)).unwrap();
        assert_eq!(one, direct);
        assert_eq!(one.visits.len(), 9);
        assert!(one.address == "南京西路1号" || one.address == "淮海中路2号");
    }
}
