"""The SIP edge: Kamailio, configured by the product and asking it for every decision.

- `config.py` renders the Kamailio configuration from `kamailio.cfg` (a template in this package)
  and the environment Kamailio runs with (the shared secret travels there, never in the file);
- `views.py` holds the product's internal endpoints the edge calls (the routing decision, the
  digest answer to a carrier's challenge), authenticated by SIP_EDGE_SECRET and not in the
  public schema;
- `manage.py sip_edge` (channels_app/management/commands/sip_edge.py) runs it.

See docs/routing.md.
"""
