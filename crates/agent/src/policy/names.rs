//! Network names interned to small ids, so rules compare integers on the flow-setup path.

use cirrus_dataplane::hash::FastMap;

use super::header::NameId;

/// Name -> id, ids from 1 (0 is never a name).
#[derive(Debug, Default, Clone)]
pub struct Names {
    ids: FastMap<String, NameId>,
    names: Vec<String>,
}

impl Names {
    /// The id of `name`, interning it.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        self.names.push(name.to_string());
        let id = self.names.len() as NameId;
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The id of `name` if interned.
    pub fn get(&self, name: &str) -> Option<NameId> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: NameId) -> Option<&str> {
        self.names
            .get((id as usize).checked_sub(1)?)
            .map(String::as_str)
    }
}
