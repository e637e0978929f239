#!/usr/bin/env python3
"""Regenerate crates/model/schema/vnc.schema from an installed vnc_api client.

The schema file is Cirrus's own compact format (see the grammar at the top of
the generated file). This script only reads the generated client's tables of
interface facts (type names, field names, JSON types, restrictions, parents,
refs) and writes them in that format; no descriptions are carried over.

Usage:  /path/to/python-with-vnc_api tools/gen_schema.py > schema/vnc.schema
"""

import inspect
import json
import sys

from vnc_api.gen import resource_common as rc
from vnc_api.gen import resource_xsd as rx

COMMON_PROPS = ["id_perms", "perms2", "annotations", "display_name"]

# Simple xsd types that get a stricter Cirrus validator than "string".
SPECIAL_SIMPLE = {
    "IpAddress": "ip",
    "IpAddressType": "ip",
    "CommunityAttribute": "community",
    "ServiceInterfaceType": "service-interface",
}
# Individual struct fields whose xsd type is a bare string but hold a MAC.
SPECIAL_FIELDS = {("MacAddressesType", "mac_address"): "mac"}


def enum_expr(values):
    for v in values:
        assert "|" not in v and ")" not in v and "(" not in v, v
    return "enum(" + "|".join(values) + ")"


def simple_expr(xsd_type, simple_type, restriction_type, restrictions):
    if xsd_type == "string":
        if simple_type in SPECIAL_SIMPLE:
            return SPECIAL_SIMPLE[simple_type]
        if restriction_type == "enum" and restrictions:
            return enum_expr(restrictions)
        return "string"
    if xsd_type == "integer":
        if restriction_type == "range" and restrictions:
            return "integer(%d..%d)" % (int(restrictions[0]), int(restrictions[1]))
        return "integer"
    if xsd_type == "unsignedLong":
        return "u64"
    if xsd_type == "boolean":
        return "boolean"
    if xsd_type == "dateTime":
        return "datetime"
    if xsd_type == "time":
        return "time"
    raise ValueError("unknown simple type %r" % xsd_type)


def field_expr(struct, name, v):
    if (struct, name) in SPECIAL_FIELDS:
        base = SPECIAL_FIELDS[(struct, name)]
    elif v["is_complex"]:
        base = v["attr_type"]
    else:
        base = simple_expr(v["attr_type"], v["simple_type"], v["restriction_type"], v["restrictions"])
    return "[%s]" % base if v["is_array"] else base


def prop_expr(v):
    if v["is_complex"]:
        return v["xsd_type"]
    return simple_expr(v["xsd_type"], v["simple_type"], v["restriction_type"], v["restrictions"])


def prop_flags(cls, name):
    v = cls.prop_field_types[name]
    flags = []
    if v["required"] != "optional":
        flags.append(v["required"])
    if v["operations"] != "CRUD":
        flags.append("ops=" + v["operations"])
    if v["default"] is not None:
        d = json.dumps(v["default"], separators=(",", ":"))
        assert " " not in d, d
        flags.append("default=" + d)
    if name in cls.prop_list_fields:
        assert cls.prop_list_field_has_wrappers.get(name), name
        flags.append("list")
    if name in cls.prop_map_fields:
        assert cls.prop_map_field_has_wrappers.get(name), name
        flags.append("map(%s)" % cls.prop_map_field_key_names[name])
    return flags


def line(parts, widths):
    out = []
    for i, p in enumerate(parts):
        out.append(p.ljust(widths[i]) if i < len(widths) and i < len(parts) - 1 else p)
    return " ".join(out).rstrip()


HEADER = """\
# Cirrus VNC object schema: every resource type of the Contrail/Tungsten Fabric
# config API and every structured property type, declared once, as data.
# Parsed at first use by crates/model/src/parse.rs. Names and JSON shapes follow
# the VNC API wire format; regenerate with tools/gen_schema.py.
#
# Grammar: one item a line, '#' starts a comment. A block starts at column 0;
# its member lines are indented.
#   struct NAME                 a JSON object type; its fields follow, one a line:
#     FIELD TYPE [required]     every field accepts null; unknown fields are errors
#   common                      props that every resource has; prop lines follow
#   resource NAME               a resource type; these lines follow:
#     parent TYPE               an allowed parent type (none: under config-root)
#     prop NAME TYPE FLAG*      a property; FLAG is one of
#                                 required | system-only | admin-only  (who sets it)
#                                 ops=CRD                  operations other than CRUD
#                                 default=JSON             value when absent
#                                 list | map(KEY)          a prop-collection
#     ref TYPE [ATTR] [weak]    a reference to TYPE, with link attribute type ATTR
#   TYPE is one of: string integer integer(MIN..MAX) u64 boolean datetime time
#     ip mac community service-interface any enum(A|B|...) [TYPE] STRUCTNAME
"""


def main():
    out = [HEADER]
    structs = [c for n, c in rx.__dict__.items()
               if inspect.isclass(c) and hasattr(c, "attr_fields") and c.__module__ == rx.__name__]
    for c in structs:
        out.append("struct %s" % c.__name__)
        names = list(c.attr_fields)
        w = max([len(n) for n in names] + [0])
        for f in names:
            v = c.attr_field_type_vals[f]
            parts = [f, field_expr(c.__name__, f, v)]
            if v["required"] in ("true", "required"):
                parts.append("required")
            out.append("  " + line(parts, [w, 0]))
        out.append("")

    classes = sorted((c for n, c in inspect.getmembers(rc, inspect.isclass)
                      if hasattr(c, "prop_field_types")), key=lambda c: c.resource_type)
    first = classes[0]
    out.append("common")
    for p in COMMON_PROPS:
        out.append("  " + " ".join(["prop", p, prop_expr(first.prop_field_types[p])] + prop_flags(first, p)))
    out.append("")

    for c in classes:
        out.append("resource %s" % c.resource_type)
        # A lone config-root parent is left implicit.
        if c.resource_type != "config-root" and c.parent_types != ["config-root"]:
            for p in c.parent_types:
                out.append("  parent %s" % p)
        props = [p for p in c.prop_field_types if p not in COMMON_PROPS]
        for p in COMMON_PROPS:
            assert c.prop_field_types[p] == first.prop_field_types[p], (c.resource_type, p)
        w = max([len(p) for p in props] + [0])
        for p in props:
            out.append("  " + line(["prop", p, prop_expr(c.prop_field_types[p])] + prop_flags(c, p), [4, w, 0]))
        for f, v in c.ref_field_types.items():
            to, attr, weak = v[0], v[1], v[2]
            assert f == to.replace("-", "_") + "_refs", f
            parts = ["ref", to]
            if attr != "None":
                parts.append(attr)
            if weak:
                parts.append("weak")
            out.append("  " + " ".join(parts))
        out.append("")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
