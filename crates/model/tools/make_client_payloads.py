"""Writes tests/fixtures/client_payloads.json: create bodies as the vnc_api
client serializes them. Run with a python that has vnc_api installed."""
import json, sys, uuid
from vnc_api.vnc_api import VncApi
from vnc_api.gen.resource_client import *
from vnc_api.gen.resource_xsd import *

def ser(obj):
    return VncApi._obj_serializer_diff(None, obj)

out = []
def add(obj):
    # As VncApi._object_create does before serializing.
    obj._pending_field_updates |= obj._pending_ref_updates
    obj._pending_ref_updates = set([])
    body = json.loads(json.dumps(obj, default=ser))
    out.append({"type": obj.get_type(), "body": body})

dom = Domain('default-domain')
proj = Project('admin', dom, id_perms=IdPermsType(enable=True, description='tenant'),
               annotations=KeyValuePairs([KeyValuePair('k1', 'v1')]),
               perms2=PermType2(owner='admin', owner_access=7, global_access=0, share=[ShareType('t1', 5)]),
               display_name='Admin')
proj.uuid = str(uuid.UUID(int=1))
add(proj)
add(dom)
ipam = NetworkIpam('ipam1', proj,
    network_ipam_mgmt=IpamType(ipam_method='dhcp', ipam_dns_method='default-dns-server',
        dhcp_option_list=DhcpOptionsListType([DhcpOptionType('6', '8.8.8.8', 'true')]),
        host_routes=RouteTableType([RouteType(prefix='0.0.0.0/0', next_hop='10.0.0.1', next_hop_type='ip-address')])),
    ipam_subnet_method='user-defined-subnet',
    ipam_subnets=IpamSubnets([IpamSubnetType(subnet=SubnetType('10.1.0.0', 24), default_gateway='10.1.0.1')]))
add(ipam)
pol = NetworkPolicy('pol1', proj, network_policy_entries=PolicyEntriesType([
    PolicyRuleType(direction='<>', protocol='any', rule_sequence=SequenceType(1, 0),
        src_addresses=[AddressType(virtual_network='default-domain:admin:vn1')],
        dst_addresses=[AddressType(subnet=SubnetType('10.2.0.0', 16))],
        src_ports=[PortType(-1, -1)], dst_ports=[PortType(80, 80)],
        action_list=ActionListType(simple_action='pass', apply_service=['default-domain:admin:si1']),
        ethertype='IPv4')]))
add(pol)
vn = VirtualNetwork('vn1', proj,
    virtual_network_properties=VirtualNetworkType(forwarding_mode='l2_l3', vxlan_network_identifier=5000, rpf='enable'),
    route_target_list=RouteTargetList(['target:64512:100']),
    virtual_network_fat_flow_protocols=FatFlowProtocols([ProtocolType('tcp', 53)]),
    mac_aging_time=300, port_security_enabled=True, router_external=False)
vn.add_network_ipam(ipam, VnSubnetsType([IpamSubnetType(subnet=SubnetType('10.0.0.0', 24), default_gateway='10.0.0.1',
    dns_server_address='10.0.0.2', enable_dhcp=True, allocation_pools=[AllocationPoolType('10.0.0.10', '10.0.0.100')],
    dhcp_option_list=DhcpOptionsListType([DhcpOptionType('15', 'example.com')]), subnet_name='s1', addr_from_start=True)]))
vn.add_network_policy(pol, VirtualNetworkPolicyType(sequence=SequenceType(0, 0), timer=TimerType()))
add(vn)
sg = SecurityGroup('sg1', proj, security_group_entries=PolicyEntriesType([
    PolicyRuleType(direction='>', protocol='tcp', ethertype='IPv4',
        src_addresses=[AddressType(security_group='local')], dst_addresses=[AddressType(subnet=SubnetType('0.0.0.0', 0))],
        src_ports=[PortType(0, 65535)], dst_ports=[PortType(22, 22)])]),
    configured_security_group_id=0)
add(sg)
vm = VirtualMachine('vm1', server_type='virtual-server')
add(vm)
vmi = VirtualMachineInterface('vmi1', proj,
    virtual_machine_interface_mac_addresses=MacAddressesType(['02:00:00:00:00:01']),
    virtual_machine_interface_bindings=KeyValuePairs([KeyValuePair('host_id', 'compute1'), KeyValuePair('vnic_type', 'normal')]),
    virtual_machine_interface_properties=VirtualMachineInterfacePropertiesType(service_interface_type='left', sub_interface_vlan_tag=100),
    virtual_machine_interface_allowed_address_pairs=AllowedAddressPairs([AllowedAddressPair(ip=SubnetType('10.0.0.50', 32), mac='02:00:00:00:00:02', address_mode='active-standby')]),
    virtual_machine_interface_fat_flow_protocols=FatFlowProtocols([ProtocolType('udp', 53, ignore_address='none')]),
    virtual_machine_interface_device_owner='compute:nova',
    port_security_enabled=True)
vmi.add_virtual_network(vn); vmi.add_security_group(sg); vmi.add_virtual_machine(vm)
ri = RoutingInstance('vn1', vn)
vmi.add_routing_instance(ri, PolicyBasedForwardingRuleType(direction='both', vlan_tag=10, protocol='tcp'))
add(vmi)
iip = InstanceIp('iip1', instance_ip_address='10.0.0.3', instance_ip_family='v4')
iip.add_virtual_machine_interface(vmi); iip.add_virtual_network(vn)
add(iip)
rt = RouteTarget('target:64512:100')
add(rt)
ri.add_route_target(rt, InstanceTargetType(import_export='import'))
ri.set_routing_instance_is_default(True)
add(ri)
fip_pool = FloatingIpPool('pool1', vn, floating_ip_pool_subnets=FloatingIpPoolSubnetType(subnet_uuid=[str(uuid.UUID(int=4))]))
add(fip_pool)
fip = FloatingIp('fip1', fip_pool, floating_ip_address='10.0.0.77', floating_ip_address_family='v4')
fip.add_project(proj); fip.add_virtual_machine_interface(vmi)
add(fip)
gsc = GlobalSystemConfig('default-global-system-config', autonomous_system=64512, ibgp_auto_mesh=True,
    ip_fabric_subnets=SubnetListType([SubnetType('192.168.0.0', 16)]),
    graceful_restart_parameters=GracefulRestartParametersType(enable=True, restart_time=300, long_lived_restart_time=300, end_of_rib_timeout=30))
add(gsc)
gvc = GlobalVrouterConfig('default-global-vrouter-config', gsc, forwarding_mode='l2_l3',
    encapsulation_priorities=EncapsulationPrioritiesType(['MPLSoUDP', 'MPLSoGRE', 'VXLAN']),
    vxlan_network_identifier_mode='automatic',
    flow_export_rate=100)
add(gvc)
vr = VirtualRouter('compute1', gsc, virtual_router_ip_address='192.168.1.10', virtual_router_type='embedded')
vr.add_network_ipam(ipam, VirtualRouterNetworkIpamType(allocation_pools=[AllocationPoolType('10.9.0.0', '10.9.0.255')], subnet=[SubnetType('10.9.0.0', 24)]))
add(vr)
ip_fabric = VirtualNetwork('ip-fabric', Project('default-project', Domain('default-domain')))
ri_fab = RoutingInstance('__default__', ip_fabric)
bgp = BgpRouter('ctrl1', ri_fab, bgp_router_parameters=BgpRouterParams(vendor='contrail', router_type='control-node',
    address='192.168.1.1', identifier='192.168.1.1', autonomous_system=64512, port=179, hold_time=90,
    address_families=AddressFamilies(['route-target', 'inet-vpn', 'e-vpn', 'inet6-vpn']),
    auth_data=AuthenticationData('md5', [AuthenticationKeyItem(0, 'secret')])))
peer = BgpRouter('mx1', ri_fab, bgp_router_parameters=BgpRouterParams(vendor='mx', router_type='router', address='192.168.1.2', autonomous_system=64512))
bgp.add_bgp_router(peer, BgpPeeringAttributes(session=[BgpSession(uuid=None, attributes=[BgpSessionAttributes(bgp_router=None, address_families=AddressFamilies(['inet-vpn']), hold_time=90, loop_count=0)])]))
add(bgp)
lr = LogicalRouter('lr1', proj, logical_router_type='snat-routing', configured_route_target_list=RouteTargetList(['target:64512:200']))
lr.add_virtual_machine_interface(vmi); lr.add_virtual_network(vn, LogicalRouterVirtualNetworkType(logical_router_virtual_network_type='ExternalGateway'))
add(lr)
tt = TagType('app'); add(tt)
tag = Tag('app=web', tag_type_name='app', tag_value='web'); add(tag)
pm = PolicyManagement('default-policy-management'); add(pm)
ag = AddressGroup('ag1', proj, address_group_prefix=SubnetListType([SubnetType('10.5.0.0', 16)])); add(ag)
sgp = ServiceGroup('svc1', proj, service_group_firewall_service_list=FirewallServiceGroupType([FirewallServiceType(protocol='tcp', protocol_id=6, src_ports=PortType(0, 65535), dst_ports=PortType(443, 443))])); add(sgp)
fr = FirewallRule('fr1', proj, action_list=ActionListType(simple_action='pass'), direction='<>',
    service=FirewallServiceType(protocol='tcp', dst_ports=PortType(80, 80), src_ports=PortType(0, 65535)),
    endpoint_1=FirewallRuleEndpointType(tags=['app=web'], any=None), endpoint_2=FirewallRuleEndpointType(any=True),
    match_tags=FirewallRuleMatchTagsType(['application']), match_tag_types=FirewallRuleMatchTagsTypeIdList([1]))
fr.add_address_group(ag); fr.add_service_group(sgp)
add(fr)
fp = FirewallPolicy('fp1', proj); fp.add_firewall_rule(fr, FirewallSequence(sequence='1.0')); add(fp)
aps = ApplicationPolicySet('aps1', proj); aps.add_firewall_policy(fp, FirewallSequence(sequence='1.0')); aps.add_tag(tag); add(aps)
st = ServiceTemplate('st1', dom, service_template_properties=ServiceTemplateType(version=2, service_mode='in-network', service_type='firewall',
    service_virtualization_type='virtual-machine', interface_type=[ServiceTemplateInterfaceType('left'), ServiceTemplateInterfaceType('right')]))
add(st)
si = ServiceInstance('si1', proj, service_instance_properties=ServiceInstanceType(left_virtual_network='default-domain:admin:vn1',
    interface_list=[ServiceInstanceInterfaceType(virtual_network='default-domain:admin:vn1')], ha_mode='active-active'),
    service_instance_bindings=KeyValuePairs([KeyValuePair('k', 'v')]))
si.add_service_template(st); add(si)
pt = PortTuple('pt1', si); add(pt)
bgpaas = BgpAsAService('bgpaas1', proj, autonomous_system=65001, bgpaas_ip_address='10.0.0.3',
    bgpaas_session_attributes=BgpSessionAttributes(address_families=AddressFamilies(['inet']), hold_time=60))
bgpaas.add_virtual_machine_interface(vmi); add(bgpaas)
lb = Loadbalancer('lb1', proj, loadbalancer_properties=LoadbalancerType(vip_address='10.0.0.200', vip_subnet_id=str(uuid.UUID(int=2)), admin_state=True),
    loadbalancer_provider='opencontrail')
add(lb)
qos = QosConfig('qos1', proj, qos_config_type='project', default_forwarding_class_id=0,
    dscp_entries=QosIdForwardingClassPairs([QosIdForwardingClassPair(key=10, forwarding_class_id=1)]))
add(qos)
vdns = VirtualDns('vdns1', dom, virtual_DNS_data=VirtualDnsType(domain_name='example.com', dynamic_records_from_client=True,
    record_order='random', default_ttl_seconds=86400, floating_ip_record='dashed-ip'))
add(vdns)
rec = VirtualDnsRecord('rec1', vdns, virtual_DNS_record_data=VirtualDnsRecordType('host1', 'A', 'IN', '10.0.0.3', 3600))
add(rec)
acl = AccessControlList('acl1', sg, access_control_list_entries=AclEntriesType(dynamic=False, acl_rule=[AclRuleType(
    match_condition=MatchConditionType(protocol='6', src_address=AddressType(), src_port=PortType(0, 65535), dst_address=AddressType(), dst_port=PortType(22, 22), ethertype='IPv4'),
    action_list=ActionListType(simple_action='pass'), rule_uuid=str(uuid.UUID(int=3)), direction='>')]))
add(acl)
json.dump(out, sys.stdout, indent=1)
