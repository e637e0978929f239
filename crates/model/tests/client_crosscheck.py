# Dumps the installed vnc_api client's schema tables as JSON on stdout, for
# tests/client_crosscheck.rs to compare with schema/vnc.schema.
import inspect
import json
import sys

from vnc_api.gen import resource_common as rc
from vnc_api.gen import resource_xsd as rx

resources = {}
for _, c in inspect.getmembers(rc, inspect.isclass):
    if not hasattr(c, "prop_field_types"):
        continue
    props = {}
    for name, v in c.prop_field_types.items():
        props[name] = {
            "xsd_type": v["xsd_type"],
            "is_complex": bool(v["is_complex"]),
            "restriction_type": v["restriction_type"],
            "restrictions": v["restrictions"],
            "simple_type": v["simple_type"],
            "required": v["required"],
        }
    resources[c.resource_type] = {
        "parents": list(c.parent_types),
        "props": props,
        "refs": {f: [v[0], None if v[1] == "None" else v[1]] for f, v in c.ref_field_types.items()},
        "back_refs": sorted(c.backref_fields),
        "children": sorted(c.children_fields),
        "lists": sorted(c.prop_list_fields),
        "maps": {f: c.prop_map_field_key_names.get(f) for f in c.prop_map_fields},
    }

structs = {}
for name, c in inspect.getmembers(rx, inspect.isclass):
    if not hasattr(c, "attr_fields") or c.__module__ != rx.__name__:
        continue
    structs[name] = [
        {
            "name": f,
            "attr_type": c.attr_field_type_vals[f]["attr_type"],
            "is_complex": bool(c.attr_field_type_vals[f]["is_complex"]),
            "is_array": bool(c.attr_field_type_vals[f]["is_array"]),
            "restriction_type": c.attr_field_type_vals[f]["restriction_type"],
            "restrictions": c.attr_field_type_vals[f]["restrictions"],
            "simple_type": c.attr_field_type_vals[f]["simple_type"],
        }
        for f in c.attr_fields
    ]

# Every struct and resource as the client serializes it when built with
# no arguments: the defaults it sends for everything a user leaves out.
def to_json(obj):
    return json.loads(json.dumps(obj, default=lambda o: dict(o.__dict__)))

defaults = {}
for name, c in inspect.getmembers(rx, inspect.isclass):
    if hasattr(c, "attr_fields") and c.__module__ == rx.__name__:
        defaults[name] = to_json(c())

from vnc_api.gen import resource_client as rcl
from vnc_api.vnc_api import VncApi

bodies = {}
for _, c in inspect.getmembers(rcl, inspect.isclass):
    rtype = getattr(c, "resource_type", None)
    if not rtype or rtype == "config-root" or c.__module__ != rcl.__name__:
        continue
    try:
        obj = c()
    except Exception:
        continue
    obj._pending_field_updates |= obj._pending_ref_updates
    bodies[rtype] = json.loads(json.dumps(obj, default=lambda o: VncApi._obj_serializer_diff(None, o)))

json.dump({"resources": resources, "structs": structs, "defaults": defaults, "bodies": bodies}, sys.stdout)
