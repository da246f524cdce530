"""Routing: which agent or carrier a call goes to, and why (docs/routing.md).

The decision exists once, here, in Python: the SIP edge (Kamailio) asks for it on every new
INVITE, the explainer API and the pages show it. The package holds the pieces by concern:

- `models.py`: the trunk's routing choices and the index of its inbound address blocks;
- `addresses.py`: inbound addresses and blocks (validation, the keys of the index);
- `spelling.py`: how a carrier writes a number on the wire, both ways;
- `decision.py`: the decision, its reason codes and the checks made (`Decision`, `Step`);
- `inbound.py`, `outbound.py`: the two decisions (docs/routing.md);
- `blocks.py`: keeps the index of a trunk's blocks in step with its `sip_inbound_addresses`.

This module imports nothing, so the model module can be imported while the app registry loads.
"""
