"""Renders an nftables ruleset the way firewall4 does, for the parts of
/etc/config/firewall that the stock config and orderspot-hotspot use, from
`uci -c DIR show firewall` and `uci -c DIR show network` output. Firewall4
itself is ucode, which Debian does not ship; this follows its templates
(root/usr/share/firewall4/templates/ruleset.uc, rule.uc, zone-*.uc) chain by
chain: defaults' policies, zones' input/output/forward policies per device,
rules into input_<zone>/forward_<zone>, forwardings, masquerading, and the
/usr/share/nftables.d/ruleset-post/*.nft auto-includes after the table. An
option it does not model is an error, so nothing is silently left out.

    python3 fw4like.py FIREWALL_SHOW NETWORK_SHOW [RULESET_POST_FILE...]
"""
import shlex
import sys

KNOWN = {
    "defaults": {"input", "output", "forward", "syn_flood"},
    "zone": {"name", "network", "input", "output", "forward", "masq", "mtu_fix"},
    "rule": {"name", "src", "dest", "proto", "dest_port", "family", "target", "icmp_type"},
    "forwarding": {"src", "dest"},
}
ICMP = {"echo-request": "8"}


def load(path):
    """uci show lines -> {section: {".type": t, option: [values]}} in order."""
    sections = {}
    for line in open(path):
        key, _, value = line.rstrip("\n").partition("=")
        parts = key.split(".")
        if len(parts) == 2:
            sections[parts[1]] = {".type": value}
        else:
            sections[parts[1]][parts[2]] = shlex.split(value)
    return sections


def one(sec, opt, default=None):
    return sec.get(opt, [default])[0]


def words(sec, opt):
    return [w for v in sec.get(opt, []) for w in v.split()]


def nft_set(items):
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def main():
    fw, net = load(sys.argv[1]), load(sys.argv[2])
    for name, sec in fw.items():
        unknown = set(sec) - {".type"} - KNOWN.get(sec[".type"], set())
        if sec[".type"] not in KNOWN or unknown:
            sys.exit(f"fw4like: {name} ({sec['.type']}): not modelled: {sorted(unknown)}")
    defaults = next(s for s in fw.values() if s[".type"] == "defaults")
    policy = {d: one(defaults, d, "ACCEPT").lower() for d in ("input", "output", "forward")}
    zones = []
    for sec in fw.values():
        if sec[".type"] != "zone":
            continue
        devices = [one(net[n], "device", n) for n in words(sec, "network") if n in net]
        zones.append({
            "name": one(sec, "name"), "devices": devices, "masq": one(sec, "masq") == "1",
            **{d: one(sec, d, "REJECT").lower() for d in ("input", "output", "forward")},
        })
    zone_chains = {z["name"]: [] for z in zones}
    forward_to = {z["name"]: [] for z in zones}
    for sec in fw.values():
        if sec[".type"] == "rule":
            src, dest = one(sec, "src"), one(sec, "dest")
            target = one(sec, "target", "DROP").lower()
            verdict = f"jump accept_to_{dest}" if dest and target == "accept" else (
                "jump handle_reject" if target == "reject" else target)
            family = one(sec, "family")
            pre = f"meta nfproto ipv{family[-1]} " if family else ""
            ports = words(sec, "dest_port")
            protos = words(sec, "proto") or ["tcp", "udp"]
            lines = []
            for proto in protos:
                if ports:
                    lines.append(f"{pre}{proto} dport {nft_set(ports)}")
                elif proto == "icmp" and sec.get("icmp_type"):
                    types = [ICMP[t] for t in words(sec, "icmp_type")]
                    lines.append(f"{pre}icmp type {nft_set(types)}")
                else:
                    lines.append(f"{pre}meta l4proto {proto}")
            comment = f'comment "!fw4: {one(sec, "name")}"'
            chain = f"forward_{src}" if dest else f"input_{src}"
            for l in lines:
                zone_chains.setdefault(chain, []).append(f"{l} counter {verdict} {comment}")
        elif sec[".type"] == "forwarding":
            src, dest = one(sec, "src"), one(sec, "dest")
            forward_to[src].append(f'jump accept_to_{dest} comment "!fw4: Accept {src} to {dest} forwarding"')

    o = ["table inet fw4", "flush table inet fw4", "", "table inet fw4 {"]
    hook = {"input": "iifname", "forward": "iifname", "output": "oifname"}
    for d in ("input", "forward", "output"):
        o.append(f"\tchain {d} {{")
        o.append(f"\t\ttype filter hook {d} priority filter; policy {'accept' if policy[d] == 'accept' else 'drop'};")
        if d == "input":
            o.append('\t\tiif "lo" accept comment "!fw4: Accept traffic from loopback"')
        if d == "output":
            o.append('\t\toif "lo" accept comment "!fw4: Accept traffic towards loopback"')
        o.append("\t\tct state vmap { established : accept, related : accept }")
        if d == "input" and one(defaults, "syn_flood") == "1":
            o.append("\t\ttcp flags & (fin | syn | rst | ack) == syn jump syn_flood")
        for z in zones:
            if z["devices"]:
                o.append(f'\t\t{hook[d]} {nft_set([chr(34) + x + chr(34) for x in z["devices"]])} jump {d}_{z["name"]}')
        if policy[d] == "reject":
            o.append("\t\tjump handle_reject")
        o.append("\t}")
    o += ["\tchain handle_reject {",
          '\t\tmeta l4proto tcp reject with tcp reset comment "!fw4: Reject TCP traffic"',
          '\t\treject with icmpx type port-unreachable comment "!fw4: Reject any other traffic"',
          "\t}",
          "\tchain syn_flood {",
          "\t\tlimit rate 25/second burst 50 packets return",
          "\t\tdrop",
          "\t}"]
    for z in zones:
        n, devs = z["name"], nft_set(['"' + x + '"' for x in z["devices"]]) if z["devices"] else None
        o.append(f"\tchain input_{n} {{")
        o += ["\t\t" + r for r in zone_chains.get(f"input_{n}", [])]
        o += [f"\t\tjump {z['input']}_from_{n}", "\t}"]
        o += [f"\tchain output_{n} {{", f"\t\tjump {z['output']}_to_{n}", "\t}"]
        o.append(f"\tchain forward_{n} {{")
        o += ["\t\t" + r for r in zone_chains.get(f"forward_{n}", []) + forward_to[n]]
        o += [f"\t\tjump {z['forward']}_to_{n}", "\t}"]
        for verdict in ("accept", "reject", "drop"):
            act = "jump handle_reject" if verdict == "reject" else verdict
            o.append(f"\tchain {verdict}_from_{n} {{")
            if devs:
                o.append(f"\t\tiifname {devs} counter {act}")
            o += ["\t}", f"\tchain {verdict}_to_{n} {{"]
            if devs and verdict == "accept" and z["masq"]:
                o.append(f'\t\tmeta nfproto ipv4 oifname {devs} ct state invalid counter drop comment "!fw4: Prevent NAT leakage"')
            if devs:
                o.append(f"\t\toifname {devs} counter {act}")
            o.append("\t}")
    o += ["\tchain dstnat {", "\t\ttype nat hook prerouting priority dstnat; policy accept;", "\t}",
          "\tchain srcnat {", "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
    for z in zones:
        if z["masq"] and z["devices"]:
            o.append(f'\t\toifname {nft_set([chr(34) + x + chr(34) for x in z["devices"]])} jump srcnat_{z["name"]}')
    o.append("\t}")
    for z in zones:
        if z["masq"]:
            o += [f"\tchain srcnat_{z['name']} {{", "\t\tmeta nfproto ipv4 masquerade", "\t}"]
    o.append("}")
    for path in sys.argv[3:]:
        o.append(f'include "{path}"')
    print("\n".join(o))


main()
