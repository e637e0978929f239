//! A Sandesh response as XML, the way Contrail's introspect writes it: the response element
//! with `type="sandesh"`, one element per field carrying its Thrift type and identifier,
//! structs wrapped in their field element, lists as `<list type=".." size="N">` of structs or
//! of `<element>`s, and `more` last.

use std::fmt::{Display, Write};

/// XML text escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The fields of one struct or response, written in order.
#[derive(Default)]
pub struct Fields {
    out: String,
    next_id: u32,
}

impl Fields {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// A scalar field: `ty` is its Thrift type (`string`, `i32`, `u64`, `bool`, ...).
    pub fn field(&mut self, name: &str, ty: &str, v: impl Display) -> &mut Self {
        let id = self.id();
        let _ = write!(
            self.out,
            "<{name} type=\"{ty}\" identifier=\"{id}\">{}</{name}>",
            escape(&v.to_string())
        );
        self
    }

    pub fn string(&mut self, name: &str, v: impl Display) -> &mut Self {
        self.field(name, "string", v)
    }

    pub fn i32(&mut self, name: &str, v: impl Display) -> &mut Self {
        self.field(name, "i32", v)
    }

    /// A struct field.
    pub fn structure(&mut self, name: &str, sname: &str, f: impl FnOnce(&mut Fields)) -> &mut Self {
        let id = self.id();
        let inner = write_struct(sname, f);
        let _ = write!(
            self.out,
            "<{name} type=\"struct\" identifier=\"{id}\">{inner}</{name}>"
        );
        self
    }

    /// A list of structs.
    pub fn structs<T>(
        &mut self,
        name: &str,
        sname: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Fields, T),
    ) -> &mut Self {
        let id = self.id();
        let mut body = String::new();
        let mut n = 0;
        for it in items {
            body.push_str(&write_struct(sname, |s| f(s, it)));
            n += 1;
        }
        let _ = write!(
            self.out,
            "<{name} type=\"list\" identifier=\"{id}\"><list type=\"struct\" size=\"{n}\">{body}</list></{name}>"
        );
        self
    }

    /// A list of scalars (`ty` as in [`Fields::field`]).
    pub fn elements<T: Display>(
        &mut self,
        name: &str,
        ty: &str,
        items: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        let id = self.id();
        let mut body = String::new();
        let mut n = 0;
        for it in items {
            let _ = write!(body, "<element>{}</element>", escape(&it.to_string()));
            n += 1;
        }
        let _ = write!(
            self.out,
            "<{name} type=\"list\" identifier=\"{id}\"><list type=\"{ty}\" size=\"{n}\">{body}</list></{name}>"
        );
        self
    }
}

fn write_struct(sname: &str, f: impl FnOnce(&mut Fields)) -> String {
    let mut s = Fields::default();
    f(&mut s);
    format!("<{sname}>{}</{sname}>", s.out)
}

/// A whole response document.
pub fn response(name: &str, f: impl FnOnce(&mut Fields)) -> String {
    let mut s = Fields::default();
    f(&mut s);
    format!(
        "<?xml-stylesheet type=\"text/xsl\" href=\"/universal_parse.xsl\"?>\
         <{name} type=\"sandesh\">{}<more type=\"bool\" identifier=\"0\">false</more></{name}>",
        s.out
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_structs_and_scalars_carry_their_types() {
        let x = response("VrfListResp", |r| {
            r.structs("vrf_list", "VrfSandeshData", [("a<b", 1)], |s, (n, i)| {
                s.string("name", n).i32("ucindex", i);
                s.elements("tags", "string", ["x"]);
            });
        });
        assert_eq!(
            x,
            "<?xml-stylesheet type=\"text/xsl\" href=\"/universal_parse.xsl\"?>\
             <VrfListResp type=\"sandesh\"><vrf_list type=\"list\" identifier=\"1\">\
             <list type=\"struct\" size=\"1\"><VrfSandeshData>\
             <name type=\"string\" identifier=\"1\">a&lt;b</name>\
             <ucindex type=\"i32\" identifier=\"2\">1</ucindex>\
             <tags type=\"list\" identifier=\"3\"><list type=\"string\" size=\"1\"><element>x</element></list></tags>\
             </VrfSandeshData></list></vrf_list><more type=\"bool\" identifier=\"0\">false</more></VrfListResp>"
        );
    }
}
