"""Tags and tag types as Contrail's api-server keeps them, through the real `vnc_api` client:
tag types created (hidden) for a tag that names a new type and deleted with its last tag,
predefined types kept, user-defined ids in 0x8000-0xFFFF only, one tag per id, and a tag's
name, type, value, id and type ref fixed once created."""

import uuid

import pytest
from vnc_api.exceptions import BadRequest, NoIdError
from vnc_api.vnc_api import Tag, TagType


def new_type():
    return "t" + uuid.uuid4().hex[:8]


def test_a_new_type_is_created_hidden_and_goes_with_its_last_tag(vnc):
    kind = new_type()
    first = Tag(tag_type_name=kind.upper(), tag_value="a")
    vnc.tag_create(first)
    got = vnc.tag_read(id=first.uuid)
    assert (got.tag_type_name, got.name) == (kind, f"{kind}=a")
    type_uuid = got.get_tag_type_refs()[0]["uuid"]
    tag_type = vnc.tag_type_read(id=type_uuid)
    assert tag_type.get_id_perms().get_user_visible() is False
    type_id = int(tag_type.tag_type_id, 16)
    assert type_id < 0x8000
    assert int(got.tag_id, 16) >> 16 == type_id
    second = Tag(tag_type_name=kind, tag_value="b")
    vnc.tag_create(second)
    assert vnc.tag_read(id=second.uuid).get_tag_type_refs()[0]["uuid"] == type_uuid
    vnc.tag_delete(id=first.uuid)
    assert vnc.tag_type_read(id=type_uuid).uuid == type_uuid
    vnc.tag_delete(id=second.uuid)
    with pytest.raises(NoIdError):
        vnc.tag_type_read(id=type_uuid)


def test_predefined_types_stay(vnc):
    app = vnc.tag_type_read(fq_name=["application"])
    tag = Tag(tag_type_name="application", tag_value=new_type())
    vnc.tag_create(tag)
    vnc.tag_delete(id=tag.uuid)
    assert vnc.tag_type_read(fq_name=["application"]).uuid == app.uuid


def test_user_defined_ids(vnc):
    kind = new_type()
    ud = Tag(tag_type_name=kind, tag_value="a", tag_id="0xDEADBEEF")
    vnc.tag_create(ud)
    got = vnc.tag_read(id=ud.uuid)
    assert got.tag_id.lower() == "0xdeadbeef"
    assert vnc.tag_type_read(id=got.get_tag_type_refs()[0]["uuid"]).tag_type_id.lower() == \
        "0xdead"
    # The id is one tag's; it is free again once that tag is gone.
    with pytest.raises(BadRequest, match="already allocated"):
        vnc.tag_create(Tag(tag_type_name=kind, tag_value="b", tag_id="0xDEADBEEF"))
    keep = Tag(tag_type_name=kind, tag_value="keep")
    vnc.tag_create(keep)
    vnc.tag_delete(id=ud.uuid)
    again = Tag(tag_type_name=kind, tag_value="c", tag_id="0xDEADBEEF")
    vnc.tag_create(again)
    assert vnc.tag_read(id=again.uuid).tag_id.lower() == "0xdeadbeef"
    # Value ids below 0x8000, and ids that are not hexadecimal, are the server's.
    for bad in ("0x0EAD0EEF", "0xDEAD0001", "0xDEAD00wq", "0xDEAD00011"):
        with pytest.raises(BadRequest):
            vnc.tag_create(Tag(tag_type_name=new_type(), tag_value="x", tag_id=bad))


def test_tag_type_ids(vnc):
    mine = TagType(new_type(), tag_type_id="0xbeef")
    vnc.tag_type_create(mine)
    assert vnc.tag_type_read(id=mine.uuid).tag_type_id == "0xbeef"
    with pytest.raises(BadRequest, match="same Id"):
        vnc.tag_type_create(TagType(new_type(), tag_type_id="0xbeef"))
    with pytest.raises(BadRequest, match="user defined id"):
        vnc.tag_type_create(TagType(new_type(), tag_type_id="0x0042"))
    auto = TagType(new_type())
    vnc.tag_type_create(auto)
    assert int(vnc.tag_type_read(id=auto.uuid).tag_type_id, 16) < 0x8000
    got = vnc.tag_type_read(id=mine.uuid)
    got.set_tag_type_id("0xbeee")
    with pytest.raises(BadRequest, match="cannot be updated"):
        vnc.tag_type_update(got)


def test_a_tag_is_fixed_once_created(vnc):
    kind = new_type()
    other = TagType(new_type())
    vnc.tag_type_create(other)
    referring = Tag(tag_type_name=kind, tag_value="x")
    referring.set_tag_type(other)
    with pytest.raises(BadRequest, match="not setable"):
        vnc.tag_create(referring)
    tag = Tag(tag_type_name=kind, tag_value="x")
    vnc.tag_create(tag)
    for setter, value in (("set_tag_value", "y"), ("set_tag_type_name", new_type()),
                          ("set_display_name", "renamed"), ("set_tag_id", "0x0001ffff")):
        got = vnc.tag_read(id=tag.uuid)
        getattr(got, setter)(value)
        with pytest.raises(BadRequest, match="cannot be updated"):
            vnc.tag_update(got)
    got = vnc.tag_read(id=tag.uuid)
    got.set_tag_type(other)
    with pytest.raises(BadRequest, match="Tag-type reference cannot be updated"):
        vnc.tag_update(got)
    # Giving the same values again changes nothing and is fine.
    got = vnc.tag_read(id=tag.uuid)
    got.set_tag_value("x")
    vnc.tag_update(got)


def test_one_tag_of_a_type_per_object(vnc, project, name):
    from vnc_api.vnc_api import AddressGroup, VirtualNetwork
    tags = {}
    for kind in ("application", "label"):
        for value in ("a", "b"):
            t = Tag(tag_type_name=kind, tag_value=f"{name}-{value}", parent_obj=project)
            vnc.tag_create(t)
            tags[kind, value] = t
    vn = VirtualNetwork(name, parent_obj=project)
    vn.add_tag(tags["application", "a"])
    vn.add_tag(tags["application", "b"])
    with pytest.raises(BadRequest, match="cannot be set multiple times"):
        vnc.virtual_network_create(vn)
    vn = VirtualNetwork(name, parent_obj=project)
    vn.add_tag(tags["label", "a"])
    vn.add_tag(tags["label", "b"])
    vnc.virtual_network_create(vn)
    vnc.set_tag(vn, "application", f"{name}-a")
    with pytest.raises(BadRequest, match="cannot be set multiple times"):
        vnc.ref_update("virtual-network", vn.uuid, "tag", tags["application", "b"].uuid, None,
                       "ADD")
    # An address group carries labels only.
    ag = AddressGroup(name, parent_obj=project)
    ag.add_tag(tags["application", "a"])
    with pytest.raises(BadRequest, match="Invalid tag type application"):
        vnc.address_group_create(ag)
    ag = AddressGroup(name, parent_obj=project)
    ag.add_tag(tags["label", "a"])
    vnc.address_group_create(ag)
